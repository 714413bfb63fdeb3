import pytest

from eiso.core.settings import SettingsError, load_settings
from eiso.infra.db import async_url
from eiso.infra.redis_client import cluster_seeds


def test_embedded_defaults(monkeypatch):
    for name in ("EISO_DATABASE_URL", "EISO_REDIS_URL", "EISO_ENV"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url == "memory://"
    assert settings.env == "dev"


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("EISO_DATABASE_URL", "postgresql://u@db:5432/eiso")
    monkeypatch.setenv("EISO_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = load_settings()
    assert settings.database_url == "postgresql://u@db:5432/eiso"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("EISO_DATABASE_URL", "mysql://x/y"),
        ("EISO_DATABASE_URL", "not a url"),
        ("EISO_REDIS_URL", "http://localhost"),
        ("EISO_ENV", "staging"),
        ("EISO_DB_POOL_SIZE", "0"),
    ],
)
def test_bad_value_names_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(variable + ":")
    assert "\n" not in message


def test_prod_refuses_dev_secret(monkeypatch):
    monkeypatch.setenv("EISO_ENV", "prod")
    monkeypatch.delenv("EISO_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="EISO_SECRET_KEY"):
        load_settings()
    monkeypatch.setenv("EISO_SECRET_KEY", "a-real-secret-from-the-vault")
    monkeypatch.setenv("EISO_ISSUER", "https://iso.example.gov.vn/")
    assert load_settings().issuer == "https://iso.example.gov.vn"


def test_prod_requires_an_issuer_dev_follows_the_request(monkeypatch):
    """Unset, the issuer follows the request (dev and test); production must name it."""
    monkeypatch.delenv("EISO_ISSUER", raising=False)
    monkeypatch.setenv("EISO_SECRET_KEY", "a-real-secret-from-the-vault")
    assert load_settings(env="dev").issuer is None
    monkeypatch.setenv("EISO_ENV", "prod")
    with pytest.raises(SettingsError, match="EISO_ISSUER"):
        load_settings()
    monkeypatch.setenv("EISO_ISSUER", "iso.example.gov.vn")
    with pytest.raises(SettingsError, match="EISO_ISSUER: must be an http"):
        load_settings()


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///var/eiso.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_async_driver_is_picked(url, driver):
    assert async_url(url).drivername == driver


def test_a_redis_cluster_url_names_its_seed_nodes():
    url = "rediss+cluster://app:s%C3%AAcret@10.0.0.1:7000,10.0.0.2:7001/?ssl_cert_reqs=none"
    settings = load_settings(redis_url=url)
    assert settings.is_redis_cluster and not settings.is_memory_redis
    seeds, first = cluster_seeds(url)
    assert seeds == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    assert first == "rediss://app:s%C3%AAcret@10.0.0.1:7000?ssl_cert_reqs=none"
    assert not load_settings(redis_url="redis://127.0.0.1:6379/0").is_redis_cluster
    for bad in ("redis+cluster://10.0.0.1/", "redis+cluster://10.0.0.1:7000/3", "cluster://a:1"):
        with pytest.raises(SettingsError, match="EISO_REDIS_URL"):
            load_settings(redis_url=bad)
