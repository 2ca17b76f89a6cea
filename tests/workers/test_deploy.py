"""The deployment files say what the code does: every setting documented, the services and
their persistence wired, the worker autoscaled."""

from __future__ import annotations

import re

import yaml

from connectors.settings import Settings
from support import ROOT

DEPLOY = ROOT / "deploy"


def env_names() -> set[str]:
    text = (DEPLOY / ".env.example").read_text()
    return set(re.findall(r"^#?\s?([A-Z][A-Z0-9_]+)=", text, flags=re.M))


def test_env_example_documents_every_setting_and_nothing_else():
    aliases = set()
    for name, field in Settings.model_fields.items():
        choices = field.validation_alias.choices if field.validation_alias else [name.upper()]
        aliases.update(str(c) for c in choices)
    documented = env_names()
    missing = sorted(aliases - documented)
    assert not missing, f"add these settings to deploy/.env.example: {missing}"
    unknown = sorted(documented - aliases)
    assert not unknown, f"deploy/.env.example names settings that do not exist: {unknown}"


def test_env_example_values_parse_as_settings(monkeypatch, tmp_path):
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        m = re.match(r"^([A-Z][A-Z0-9_]+)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)  # no stray .env
    s = Settings()
    assert s.webhook_issue_types == ["Story", "Epic"] and s.nightly_cron == "0 2 * * *"


def test_compose_runs_every_part_with_persistent_redis():
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = doc["services"]
    assert {"api", "worker", "beat", "redis", "qdrant", "flower"} <= set(services)
    assert "--appendonly" in services["redis"]["command"] and "yes" in services["redis"]["command"]
    assert services["redis"]["volumes"] and services["qdrant"]["volumes"]
    assert services["api"]["command"][0] == "serve" and services["worker"]["command"][0] == "worker"
    assert services["beat"]["command"][0] == "beat"
    assert "flower" in services["flower"]["entrypoint"]
    assert services["api"]["environment"]["REDIS_URL"].startswith("redis://redis:")


def test_kubernetes_manifests_autoscale_the_workers():
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        docs += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d and "metadata" in d]
    kinds = {(d["kind"], d["metadata"]["name"]) for _, d in docs}
    for name in ("casewright-api", "casewright-worker", "casewright-beat"):
        assert ("Deployment", name) in kinds
    hpa = next(d for _, d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "casewright-worker"
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    beat = next(d for _, d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "casewright-beat")
    assert beat["spec"]["replicas"] == 1 and beat["spec"]["strategy"]["type"] == "Recreate"
    kustom = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())
    for resource in kustom["resources"]:
        assert (DEPLOY / "k8s" / resource).exists()


def test_dockerfile_installs_the_cpu_torch_first():
    text = (DEPLOY / "Dockerfile").read_text()
    torch = text.index("torch==2.13.0")
    assert "download.pytorch.org/whl/cpu" in text
    assert torch < text.index("pip install .")


def test_compose_qdrant_understands_parametrised_rrf():
    """connectors/knowledge_store/ sends `{"rrf": {"k": ...}}` (Qdrant 1.16+); qdrant-client 1.20
    supports servers one minor version apart, so the pinned server is 1.19 or newer."""
    image = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]["qdrant"]["image"]
    m = re.fullmatch(r"qdrant/qdrant:v(\d+)\.(\d+)\.(\d+)", image)
    assert m, image
    assert (int(m.group(1)), int(m.group(2))) >= (1, 19)
