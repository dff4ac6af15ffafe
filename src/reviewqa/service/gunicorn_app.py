"""Running the already-built Flask app under gunicorn, configured by ``service/gunicorn.conf.py``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gunicorn.app.base import Application

from reviewqa.settings import PROJECT_ROOT

DEFAULT_CONFIG = PROJECT_ROOT / "service" / "gunicorn.conf.py"


class PreloadedGunicorn(Application):
    """Serves an app object built in the master process, so workers fork with the model and index loaded."""

    def __init__(
        self,
        app: Any,
        config_file: Path | None,
        overrides: dict[str, Any],
        on_reload: Callable[[], object] | None = None,
    ) -> None:
        self._app = app
        self._config_file = config_file
        self._overrides = overrides
        self._on_reload = on_reload
        super().__init__()

    def init(self, parser: Any, opts: Any, args: Any) -> None:  # command-line parsing is click's job
        return None

    def load_config(self) -> None:
        if self._config_file is not None:
            self.load_config_from_file(str(self._config_file))
        for name, value in self._overrides.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        return self._app

    def reload(self) -> None:
        """SIGHUP: re-read the configuration and let the app reload (the index) in the master, before
        gunicorn forks the new workers from it and stops the old ones gracefully."""
        super().reload()
        if self._on_reload is not None:
            self._on_reload()
