pytest_plugins = ["sandbox_fixtures"]
