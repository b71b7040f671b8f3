"""What `kith init` writes (generated from the models, see ``template``) and what
`kith config check` prints (with secrets masked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kith.config.load import Config
from kith.config.redact import mask_url
from kith.config.secrets import write_private
from kith.config.template import mailbox_example_text, starter_text

STARTER = starter_text()
MAILBOX_EXAMPLE = mailbox_example_text()


def write_starter(directory: Path, *, force: bool = False) -> list[Path]:
    """Write kith.toml and an example mailbox file; refuses to overwrite unless ``force``."""
    directory.mkdir(parents=True, exist_ok=True)
    targets = {directory / "kith.toml": STARTER, directory / "mailboxes.d" / "example.toml": MAILBOX_EXAMPLE}
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        from kith.errors import UsageError

        raise UsageError(
            f"{directory} already holds a configuration ({', '.join(str(p) for p in existing)})",
            hint=f"edit it and run `kith --config {directory / 'kith.toml'} config check`, "
            "or pass --force to overwrite it with the starter files",
        )
    for path, text in targets.items():
        write_private(path, text)
    return list(targets)


_SECRETISH = ("password_command", "client_secret", "token")


def masked(config: Config) -> dict[str, Any]:
    """The resolved config as plain data, secrets masked (sources named, values never read)."""

    def scrub(data: Any, key: str = "") -> Any:
        if isinstance(data, dict):
            return {k: scrub(v, k) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [scrub(v, key) for v in data]
        if key == "url" and isinstance(data, str) and "://" in data:
            return mask_url(data)
        if key == "password_command" and isinstance(data, str):
            return data.split()[0] + " ***" if data.split() else "***"
        return str(data) if isinstance(data, Path) else data

    return {
        "file": str(config.path) if config.path else None,
        "state_dir": str(config.state_dir),
        "settings": scrub(config.settings.model_dump(mode="json", by_alias=True)),
        "mailboxes": {
            mb.name: {"file": str(config.files.get(mb.name, "")), **scrub(mb.model_dump(mode="json"))}
            for mb in config.mailboxes
        },
    }


__all__ = ["MAILBOX_EXAMPLE", "STARTER", "masked", "write_starter"]
