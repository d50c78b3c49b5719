"""Chorus Pro (B2G) through the PISTE gateway; registered as connector "chorus_pro"."""

from connectors.base import register
from connectors.chorus_pro.checks import StructureRules, check_document, check_public_buyer
from connectors.chorus_pro.connector import ChorusProConnector, DepositReport

register(ChorusProConnector.name, ChorusProConnector)

__all__ = ["ChorusProConnector", "DepositReport", "StructureRules", "check_document", "check_public_buyer"]
