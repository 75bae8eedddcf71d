"""Key text that cannot be a file name never leaks through an OSError.

``OKTA_CLIENT_PRIVATEKEY`` may hold the key itself or the path of a file holding it. An RSA key
pasted without its PEM armour is one line of base64; where it holds no "/" for 255 characters,
asking the file system whether it is a file raised ENAMETOOLONG, an OSError whose message
quotes the whole value: the private key, printed in the error.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from joserfc.jwk import RSAKey

from oktaql.auth import load_private_key
from oktaql.cli import main
from oktaql.emulator import EmulatorConfig, start_in_thread
from oktaql.errors import ConfigError

RSA = RSAKey.generate_key(2048, private=True)
# the PEM's base64 without armour, with "/" (a path separator) made "A": one 1,600-character name
BODY = "".join(RSA.as_pem(private=True).decode().splitlines()[1:-1]).replace("/", "A")


@pytest.mark.parametrize("text", [BODY, "A" * 300, "key\0text"])
def test_key_text_that_is_no_file_name_is_a_config_error_without_the_key(text: str) -> None:
    with pytest.raises(ConfigError, match="neither PEM") as info:
        load_private_key(text)
    assert text[:40] not in str(info.value) and text[-40:] not in str(info.value)


def test_the_key_never_reaches_the_output_nor_the_org(tmp_path: Path) -> None:
    with start_in_thread(EmulatorConfig(seed=2, token="x"), host="127.0.0.2") as org:
        env = {
            "OKTA_CLIENT_AUTHORIZATIONMODE": "PrivateKey",
            "OKTA_CLIENT_CLIENTID": "0oasvc",
            "OKTA_CLIENT_PRIVATEKEY": BODY,
            "OKTA_CLIENT_ORGURL": org.url,
            "OKTAQL_TIMEZONE": "UTC",
        }
        res = CliRunner().invoke(
            main,
            ["exec", "--db", str(tmp_path / "db"), "SELECT id FROM okta.apps.applications"],
            env=env,
        )
        assert res.exit_code == 1, res.output
        assert "neither PEM" in res.output and "Traceback" not in res.output
        for part in (BODY[:40], BODY[700:740], BODY[-40:]):
            assert part not in res.output
        assert org.request_log == []  # nothing was sent, not even a token request
