"""The TOML configuration: discovery, validation and the settings the rest reads.

- model.py: what each table may hold, the Settings the rest reads, phase_probability.
- checks.py: a parsed document into Settings, or every problem `config check` prints.
- files.py: finding the config file and reading its TOML.

Everything is imported from here (`from screening.config import Settings`). This package
must stay cheap to import: no SQLAlchemy here (DESIGN §2).
"""

from screening.config.beacon import BeaconSettings
from screening.config.checks import build_vocabulary, parse, run_at_notes, shipped_vocabulary
from screening.config.files import CONFIG_NAME, discover, load, read_toml, user_config_path
from screening.config.labs import LabCode, LabMap, LabsSettings
from screening.config.model import (
    ANALYTE_PATTERN,
    RUN_AT,
    SITE_PATTERN,
    WEEKDAYS,
    WITNESS_FOLDER,
    Analyte,
    DatabaseSettings,
    KeySettings,
    LocaleSettings,
    Measure,
    NotifySettings,
    Panel,
    Phase,
    PhaseRate,
    PolicySettings,
    PositiveDays,
    Probability,
    Rate,
    ResultSettings,
    ScheduleSettings,
    Settings,
    SiteSettings,
    SmtpSettings,
    Track,
    ValiditySettings,
    WitnessSettings,
    phase_probability,
    run_at_time,
)

__all__ = [
    "ANALYTE_PATTERN",
    "CONFIG_NAME",
    "RUN_AT",
    "SITE_PATTERN",
    "WEEKDAYS",
    "WITNESS_FOLDER",
    "Analyte",
    "BeaconSettings",
    "DatabaseSettings",
    "KeySettings",
    "LabCode",
    "LabMap",
    "LabsSettings",
    "LocaleSettings",
    "Measure",
    "NotifySettings",
    "Panel",
    "Phase",
    "PhaseRate",
    "PolicySettings",
    "PositiveDays",
    "Probability",
    "Rate",
    "ResultSettings",
    "ScheduleSettings",
    "Settings",
    "SiteSettings",
    "SmtpSettings",
    "Track",
    "ValiditySettings",
    "WitnessSettings",
    "build_vocabulary",
    "discover",
    "load",
    "parse",
    "phase_probability",
    "read_toml",
    "run_at_notes",
    "run_at_time",
    "shipped_vocabulary",
    "user_config_path",
]
