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


def read_plugin_requirements(r: ItemReader, root) -> list[PluginRequirement]:
    """The entries of a ``required_plugin_versions`` item, with Falco's shape checks."""
    node = r.map["required_plugin_versions"]
    ctx = root.at(node.start_mark, "required plugin versions", item="required plugin versions")
    if not isinstance(node, yaml.SequenceNode):
        raise fail(LOAD_ERR_YAML_VALIDATE, "Value of required_plugin_versions must be a sequence",
                   ctx)
    out = []
    for elem in node.value:
        kind = "required plugin versions entry"
        tmp = ctx.at(elem.start_mark, kind, item=kind)
        if not isinstance(elem, yaml.MappingNode):
            raise fail(LOAD_ERR_YAML_VALIDATE, "Plugin version must be a mapping", tmp)
        name = ItemReader(elem, tmp).scalar("name")
        entry = ItemReader(elem, ctx.at(elem.start_mark, kind, name, item=kind))
        choices = [(name, read_version(entry, name))]
        alts = entry.map.get("alternatives")
        if alts is not None:
            if not isinstance(alts, yaml.SequenceNode):
                raise fail(LOAD_ERR_YAML_VALIDATE, "Value of plugin version alternatives must "
                           "be a sequence", entry.ctx)
            kind = "required plugin versions alternative"
            for alt in alts.value:
                tmp = entry.ctx.at(alt.start_mark, kind)
                if not isinstance(alt, yaml.MappingNode):
                    raise fail(LOAD_ERR_YAML_VALIDATE, "Plugin version alternative must be a "
                               "mapping", tmp)
                alt_name = ItemReader(alt, tmp).scalar("name")
                alt_reader = ItemReader(alt, entry.ctx.at(alt.start_mark, kind, alt_name))
                choices.append((alt_name, read_version(alt_reader, alt_name, entry.ctx)))
        names = [c[0] for c in choices]
        for choice in names:
            if names.count(choice) > 1:
                raise fail(LOAD_ERR_VALIDATE, "Defined multiple alternative version "
                           f"requirements for plugin '{choice}'", entry.ctx)
        out.append(PluginRequirement(tuple(choices), entry.ctx))
    return out


def read_version(e: ItemReader, name: str, ctx=None) -> tuple:
    """The ``version`` of a requirement; a malformed one is reported at the entry (``ctx``)."""
    version = e.scalar("version")
    parsed = parse_semver(version)
    if parsed is None:
        raise fail(LOAD_ERR_VALIDATE, f"Invalid required version '{version}' for plugin "
                   f"'{name}'", ctx or e.ctx)
    return parsed


def check_requirements(reqs, loaded: dict) -> tuple | None:
    """None when every requirement holds for ``loaded`` (name -> "x.y.z"), else the message
    and the context of the first requirement that does not."""
    for req in reqs:
        for name, version in req.choices:
            if name not in loaded:
                continue
            have = parse_semver(str(loaded[name])) or (0, 0, 0)
            if not compatible(have, version):
                return (f"Plugin '{name}' version '{loaded[name]}' is not compatible with "
                        f"required plugin version '{'.'.join(map(str, version))}'", req.ctx)
            break
        else:
            alts = ", ".join(f"{n} (>= {'.'.join(map(str, v))})" for n, v in req.choices)
            return f"Plugin requirement not satisfied, must load one of: {alts}", req.ctx
    return None
