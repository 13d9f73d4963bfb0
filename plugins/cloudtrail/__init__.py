"""The ``cloudtrail`` plugin: source of ``aws_cloudtrail`` events and extractor of their fields.

Identity per docs/cloudtrail-plugin.md §1: plugin id 2, event source
``aws_cloudtrail``. Reading logs (files, S3, SQS) lives in ``.source``;
this module wires it to the plugin API and exports the 73 fields of §7.
"""
from __future__ import annotations

from scaptools.plugin.api import ExtractorPlugin, SourcePlugin

from .compute import plugininfo
from .fields import FIELDS, make_extractor
from .record import MISSING, get, record


class CloudTrailPlugin(SourcePlugin, ExtractorPlugin):
    """AWS CloudTrail records from files, S3 or SQS, and the ``ct.*``/``s3.*``/``ec2.*`` fields."""

    name = "cloudtrail"
    id = 2
    event_source = "aws_cloudtrail"
    version = "0.17.1"
    desc = "reads cloudtrail JSON data saved to file in the directory specified in the settings"
    fields = FIELDS
    extract_sources: list[str] = []

    def __init__(self):
        self.config: dict = {}

    def init(self, config: str) -> None:
        """Parse the init config (§2); ``PluginError`` for a bad one."""
        from .source import parse_init_config
        self.config = parse_init_config(config or "")

    def open(self, params: str):
        """Events of the files, S3 objects or SQS notifications named by ``params`` (§3)."""
        from .source import open_source
        return open_source(self.config, params)

    def event_to_string(self, event) -> str:
        """``evt.plugininfo`` (§5)."""
        rec = record(event)
        error_present = rec is not None and get(rec, ("errorCode",)) is not MISSING
        return plugininfo(rec if isinstance(rec, dict) else None, error_present)

    def extractor(self, field: str, arg: str | None):
        return make_extractor(field, arg)

    def extract(self, event, field: str, arg: str | None):
        return make_extractor(field, arg)(event)
