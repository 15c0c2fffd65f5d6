"""The build cache lives outside the checkout, so a fresh clone on the same machine reuses the base root."""

from __future__ import annotations

from pathlib import Path

from evyimage import pipeline


def test_cache_defaults_outside_the_checkout():
    cache = pipeline.default_cache_dir({})
    assert cache == Path("/var/cache/evy-image")
    assert not cache.is_relative_to(pipeline.REPO)
    assert pipeline.BuildOptions().cache_dir == pipeline.default_cache_dir()


def test_cache_follows_the_environment(tmp_path):
    assert pipeline.default_cache_dir({"EVY_IMAGE_CACHE": str(tmp_path)}) == tmp_path
    assert pipeline.default_cache_dir({"EVY_IMAGE_CACHE": "  "}) == Path("/var/cache/evy-image")
