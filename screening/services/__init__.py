"""The jobs users name, one package each, ordered bottom to top (docs/architecture.md):
plumbing, witness, records, site, clients, draws, results, progress, audit, daily."""
