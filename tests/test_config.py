from pathlib import Path

import pytest

from newssearch import Config, ConfigError, load_config
from newssearch.config import config_from_dict

REPO = Path(__file__).resolve().parents[1]


def test_missing_keys_take_defaults(tmp_path):
    (tmp_path / "c.yaml").write_text("search:\n  limit: 5\n")
    config = load_config(tmp_path / "c.yaml")
    assert config.search.limit == 5
    assert config.analysis.stemmer == "snowball"
    assert config.index == tmp_path / "index"  # relative to the config file
    assert config.corpus == (tmp_path / "corpus",)


def test_repo_config_is_valid_and_matches_defaults():
    config = load_config(REPO / "config.yaml")
    assert config.analysis == Config().analysis
    assert config.search == Config().search
    assert config.index == REPO / "index"


@pytest.mark.parametrize(
    "data, key",
    [
        ({"analysis": {"stemer": "snowball"}}, "analysis.stemer"),
        ({"indx": "x"}, "indx"),
        ({"analysis": {"stemmer": "porter"}}, "analysis.stemmer"),
        ({"search": {"limit": "ten"}}, "search.limit"),
        ({"search": {"limit": True}}, "search.limit"),
        ({"analysis": {"hyphens": "yes"}}, "analysis.hyphens"),
        ({"search": {"boosts": {"titel": 2}}}, "search.boosts.titel"),
        ({"search": {"boosts": {"title": -1}}}, "search.boosts.title"),
        ({"corpus": [1, 2]}, "corpus"),
        ({"analysis": "snowball"}, "analysis"),
    ],
)
def test_bad_keys_and_types_name_the_key(data, key):
    with pytest.raises(ConfigError, match=f"'{key}'"):
        config_from_dict(data)


def test_bad_yaml_and_missing_file(tmp_path):
    (tmp_path / "c.yaml").write_text("search: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_single_corpus_path_string(tmp_path):
    assert config_from_dict({"corpus": "news"}).corpus == (Path("news"),)
