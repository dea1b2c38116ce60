"""``uvicorn ui_fake_server:create_fake_app --factory --app-dir tests/ui``: the real server on the fake backend
(used by the fast browser test and for poking at the page without models)."""
from __future__ import annotations

import os
from pathlib import Path

from catalog.settings import Settings
from ui.server import create_app
from ui_fakes import FakeBackend
from ui_helpers import AGENT_KEY, ROOMY


def create_fake_app():
    data_dir = Path(os.environ.get("SHOPASSIST_DATA_DIR", "var/fake-ui"))
    return create_app(Settings(data_dir=data_dir, agent_api_key=AGENT_KEY), backend=FakeBackend(), limits=ROOMY)
