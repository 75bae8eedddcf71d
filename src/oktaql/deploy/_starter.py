"""``oktaql deploy init``: a starter stack, one Okta group in stackql-deploy's format, that
builds, plans, tests and tears down against ``--emulator`` as written."""

from __future__ import annotations

from pathlib import Path

from oktaql.errors import DeployError

MANIFEST = """\
version: 1
name: {name}
description: a starter Okta stack (oktaql deploy init)
providers:
  - okta
globals:
  - name: group_prefix
    description: what every group of this stack starts with
    value: "{{{{ stack_name }}}}-{{{{ stack_env }}}}"
resources:
  - name: admins_group
    file: group.iql
    props:
      - name: group_name
        value: "{{{{ group_prefix }}}}-admins"
      - name: group_description
        values:
          dev:
            value: "Administrators (development)"
          prd:
            value: "Administrators"
    exports:
      - id: admins_group_id
"""

GROUP_IQL = """\
/*+ exists */
SELECT id FROM okta.groups.groups
WHERE search = 'profile.name eq "{{ group_name }}"'

/*+ statecheck, retries=3, retry_delay=1 */
SELECT count(*) AS count FROM okta.groups.groups
WHERE search = 'profile.name eq "{{ group_name }}"'
AND profile->>'description' = '{{ group_description }}'

/*+ create */
INSERT INTO okta.groups.groups (data__profile)
SELECT '{"name": "{{ group_name }}", "description": "{{ group_description }}"}'

/*+ update */
REPLACE okta.groups.groups
SET data__profile = '{"name": "{{ group_name }}", "description": "{{ group_description }}"}'
WHERE groupId = '{{ this.id }}'

/*+ exports */
SELECT id FROM okta.groups.groups
WHERE search = 'profile.name eq "{{ group_name }}"'

/*+ delete */
DELETE FROM okta.groups.groups WHERE groupId = '{{ this.id }}'
"""

README = """\
# {name}

A starter oktaql deploy stack in stackql-deploy's format: `stackql_manifest.yml` says what
exists, `resources/group.iql` how to check, create, update and delete it.

```sh
oktaql emulator --port 8080 --token dev &     # a local Okta org to try it on
export OKTA_API_TOKEN=dev OKTA_CLIENT_ORGURL=http://127.0.0.1:8080
oktaql deploy plan {name} dev      # what build would do
oktaql deploy build {name} dev     # do it (a second build sends no write)
oktaql deploy test {name} dev      # is everything in its desired state?
oktaql deploy teardown {name} dev  # delete it again
```
"""


def write_starter(root: Path) -> list[Path]:
    """Write the starter stack into ``root`` (new, or empty); the paths written."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DeployError(f"{root} exists and is not empty: give a new directory")
    name = root.resolve().name or "okta-stack"
    files = {
        root / "stackql_manifest.yml": MANIFEST.format(name=name),
        root / "resources" / "group.iql": GROUP_IQL,
        root / "README.md": README.format(name=root),
    }
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DeployError(f"cannot write {root}: {exc.strerror or exc}") from None
    return list(files)


__all__ = ["write_starter"]
