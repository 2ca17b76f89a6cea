pytest_plugins = ["support.sandbox"]
