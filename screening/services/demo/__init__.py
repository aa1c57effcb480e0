"""The sample clinic of `screening demo`: synthetic clients and two months of draws,
specimens, results and misses, made through the other packages as staff would make them."""

from screening.services.demo.making import DemoClinic, make_demo

__all__ = ["DemoClinic", "make_demo"]
