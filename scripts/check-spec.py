#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Check netlink/rnetns.yaml, the rnetns family's spec, on the host.

  check-spec.py SCHEMA SPEC RUST

SCHEMA is the kernel's Documentation/netlink/genetlink.yaml, SPEC the
family's spec, RUST src/netlink.rs. Checks that the spec validates against
the schema, that every definition, enum entry, attribute and operation has
a doc, and that the ids src/netlink.rs declares (FAMILY_NAME, CMD_*,
<SET>_<ATTR>, GROUP_*) are the spec's, both ways: an id the spec has and
the module lacks is an error too. The policies and op flags the module
registers are compared with the spec in a booted kernel
(tests/t70-netlink.sh, through the kernel's policy dump). Prints one line
per problem and exits 1 if there is any.
"""
import re
import sys

import jsonschema
import yaml


def ident(name):
    return name.upper().replace('-', '_')


def spec_ids(spec):
    """The ids the spec gives: {CONST_NAME: value}."""
    ids = {'FAMILY_NAME': spec['name']}
    # Commands: numbered from 1 in the order listed, unless given.
    value = 1
    for op in spec['operations']['list']:
        value = op.get('value', value)
        ids['CMD_' + ident(op['name'])] = value
        value += 1
    for aset in spec['attribute-sets']:
        value = 1
        for attr in aset['attributes']:
            value = attr.get('value', value)
            ids[ident(aset['name']) + '_' + ident(attr['name'])] = value
            value += 1
    for i, group in enumerate(spec['mcast-groups']['list']):
        ids['GROUP_' + ident(group['name'])] = i
    return ids


def rust_ids(text):
    """The ids src/netlink.rs declares: {CONST_NAME: value}."""
    ids = {}
    for name, value in re.findall(
            r'^pub\(crate\) const ([A-Z0-9_]+): (?:u8|u16|u32) = (\d+);', text, re.M):
        ids[name] = int(value)
    m = re.search(r'^pub\(crate\) const FAMILY_NAME: &\[u8\] = b"([^"\\]*)\\0";', text, re.M)
    if m:
        ids['FAMILY_NAME'] = m.group(1)
    ids.pop('FAMILY_VERSION', None)
    return ids


def missing_docs(spec):
    for d in spec.get('definitions', []):
        if not d.get('doc'):
            yield f"definition {d['name']}"
        for e in d.get('entries', []):
            if isinstance(e, dict) and not e.get('doc'):
                yield f"entry {d['name']}.{e['name']}"
            elif not isinstance(e, dict):
                yield f"entry {d['name']}.{e}"
    for aset in spec['attribute-sets']:
        if not aset.get('doc'):
            yield f"attribute set {aset['name']}"
        for a in aset['attributes']:
            if not a.get('doc'):
                yield f"attribute {aset['name']}.{a['name']}"
    for op in spec['operations']['list']:
        if not op.get('doc'):
            yield f"operation {op['name']}"


def main():
    schema_path, spec_path, rust_path = sys.argv[1:4]
    with open(schema_path) as f:
        schema = yaml.safe_load(f)
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    with open(rust_path) as f:
        rust = f.read()
    bad = []
    try:
        jsonschema.validate(spec, schema)
    except jsonschema.ValidationError as e:
        bad.append(f"{spec_path}: not valid against {schema_path}: {e.message}")
    bad += [f"{spec_path}: no doc for {what}" for what in missing_docs(spec)]
    want, have = spec_ids(spec), rust_ids(rust)
    for name, value in sorted(want.items()):
        if name not in have:
            bad.append(f"{rust_path}: no {name} (the spec's is {value!r})")
        elif have[name] != value:
            bad.append(f"{rust_path}: {name} is {have[name]!r}, the spec's is {value!r}")
    for name in sorted(set(have) - set(want)):
        bad.append(f"{rust_path}: {name} = {have[name]!r} is not in the spec")
    for line in bad:
        print(line)
    if not bad:
        print(f"{spec_path}: valid against {schema_path}; "
              f"{len(want)} ids agree with {rust_path}")
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
