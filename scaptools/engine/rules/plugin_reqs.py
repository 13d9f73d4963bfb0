"""``required_plugin_versions`` (docs/rules-language.md §2.2): decoding and checking."""
from __future__ import annotations

from dataclasses import dataclass

import yaml

from scaptools.engine.diagnostics import LOAD_ERR_VALIDATE, LOAD_ERR_YAML_VALIDATE, fail
from scaptools.engine.rules.yamlnodes import ItemReader
from scaptools.plugin.versions import compatible, parse_semver


@dataclass(frozen=True)
class PluginRequirement:
    """One entry: the requirement and its alternatives, each (name, version tuple)."""

    choices: tuple  # ((name, (x, y, z)), ...)
    ctx: object = None


def read_plugin_requirements(r: ItemReader) -> list[PluginRequirement]:
    node = r.map["required_plugin_versions"]
    if not isinstance(node, yaml.SequenceNode):
        raise fail(LOAD_ERR_YAML_VALIDATE, "Value of required_plugin_versions must be a sequence",
                   r.ctx)
    out = []
    for elem in node.value:
        if not isinstance(elem, yaml.MappingNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Plugin version must be a mapping", r.ctx)
        entry = ItemReader(elem, r.ctx, r.path)
        choices = [read_choice(entry)]
        if entry.has("alternatives"):
            alts = entry.map["alternatives"]
            if not isinstance(alts, yaml.SequenceNode):
                raise fail(LOAD_ERR_YAML_VALIDATE, "Value is not a sequence", r.ctx)
            for alt in alts.value:
                if not isinstance(alt, yaml.MappingNode):
                    raise fail(LOAD_ERR_YAML_VALIDATE, "Plugin version must be a mapping", r.ctx)
                choices.append(read_choice(ItemReader(alt, r.ctx, r.path)))
        names = [c[0] for c in choices]
        for name in names:
            if names.count(name) > 1:
                raise fail(LOAD_ERR_VALIDATE, "Defined multiple alternative version "
                           f"requirements for plugin '{name}'", r.ctx)
        out.append(PluginRequirement(tuple(choices), r.ctx))
    return out


def read_choice(e: ItemReader) -> tuple:
    name = e.scalar("name")
    version = e.scalar("version")
    parsed = parse_semver(version)
    if parsed is None:
        raise fail(LOAD_ERR_VALIDATE, f"Invalid required version '{version}' for plugin "
                   f"'{name}'", e.ctx)
    return name, parsed


def check_requirements(reqs, loaded: dict) -> str | None:
    """None when every requirement holds for ``loaded`` (name -> "x.y.z"), else the message."""
    for req in reqs:
        for name, version in req.choices:
            if name not in loaded:
                continue
            have = parse_semver(str(loaded[name])) or (0, 0, 0)
            if not compatible(have, version):
                return (f"Plugin '{name}' version '{loaded[name]}' is not compatible with "
                        f"required plugin version '{'.'.join(map(str, version))}'")
            break
        else:
            alts = ", ".join(f"{n} (>= {'.'.join(map(str, v))})" for n, v in req.choices)
            return f"Plugin requirement not satisfied, must load one of: {alts}"
    return None
