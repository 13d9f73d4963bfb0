"""The cloudtrail plugin's init config (docs/cloudtrail-plugin.md §2): defaults and checks."""
from __future__ import annotations

import orjson

from scaptools.errors import PluginError

PLUGIN = "cloudtrail"
DEFAULTS = {"sqsDelete": True, "s3DownloadConcurrency": 32, "s3Interval": "", "useS3SNS": False,
            "s3AccountList": "", "sqsOwnerAccount": "", "useAsync": True,
            "aws": {"profile": "", "region": "", "config": "", "credentials": ""}}
_TYPES = {bool: "a boolean", int: "an integer", str: "a string", dict: "an object"}


def parse_init_config(text: str) -> dict:
    """The init config (§2) with defaults applied; PluginError for a bad one."""
    text = (text or "").strip()
    try:
        given = orjson.loads(text) if text else {}
    except orjson.JSONDecodeError as exc:
        raise PluginError(f"init config is not JSON: {exc}", PLUGIN) from None
    if not isinstance(given, dict):
        raise PluginError("init config must be a JSON object", PLUGIN)
    config = {k: (dict(v) if isinstance(v, dict) else v) for k, v in DEFAULTS.items()}
    for key, value in given.items():
        if key not in DEFAULTS:
            continue  # unknown keys are accepted and ignored (§2)
        _check_type(key, value, type(DEFAULTS[key]))
        if key == "aws":
            for sub, subval in value.items():
                if sub in DEFAULTS["aws"]:
                    _check_type(f"aws.{sub}", subval, str)
                    config["aws"][sub] = subval
        else:
            config[key] = value
    return config


def _check_type(key: str, value, want: type) -> None:
    ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
    if not ok:
        raise PluginError(f"init config: {key} must be {_TYPES[want]}, got {value!r}", PLUGIN)
