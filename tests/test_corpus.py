import gzip
import json

import pytest

from newssearch import Article, CorpusError, Rejection
from newssearch.ingest.readers import ReadOptions, discover, read_corpus

from .conftest import write_jsonl


def records(*paths):
    return list(read_corpus(paths))


def rejections(*paths):
    return [(r.line, r.reason) for r in records(*paths) if isinstance(r, Rejection)]


def test_jsonl_fields_and_extras(tmp_path):
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "id": 7,
                "title": "T",
                "body": "Text",
                "date": "2016-04-12T13:47:17Z",
                "outlet": "x",
                "kanal": "y",
                "topics": ["a"],
            },
        ],
    )
    (art,) = records(path)
    assert art.id == "7" and art.title == "T" and art.text == "Text"
    assert art.date.isoformat() == "2016-04-12T13:47:17"
    assert art.source == "x"  # "outlet" is a name of the source
    assert art.extra == {"kanal": "y", "topics": ["a"]}


def test_jsonl_without_id_gets_path_and_line(tmp_path):
    (art,) = records(write_jsonl(tmp_path / "a.jsonl", ["", {"text": "Hallo Welt"}]))
    assert art.id == "a.jsonl:2"


@pytest.mark.parametrize(
    "line, reason",
    [
        ('{"text": "ok", ', "broken JSON"),
        ('["a", "b"]', "expected a JSON object, got an array"),
        ('{"author": "only an author"}', "no text"),
        ('{"text": "   "}', "no text"),
        ('{"text": "x", "date": "gestern"}', "unparseable date 'gestern'"),
        ('{"text": "x", "date": 12}', "'date' must be an ISO 8601 date string, got a number"),
        ('{"text": "x", "title": ["a"]}', "'title' must be a string, got an array"),
        ('{"text": 5}', "'text' must be a string"),
        ('{"text": "x", "id": {"a": 1}}', "'id' must be a string or number"),
    ],
)
def test_jsonl_bad_records_are_rejected_with_line(tmp_path, line, reason):
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "gut"}, line, {"text": "auch gut"}])
    recs = records(path)
    assert [type(r) for r in recs] == [Article, Rejection, Article]
    assert recs[1].line == 2 and reason in recs[1].reason
    assert str(recs[1]).startswith(f"{path}:2: ")


def test_title_null_is_allowed(tmp_path):
    (art,) = records(write_jsonl(tmp_path / "a.jsonl", ['{"text": "x", "title": null}']))
    assert art.title is None


def test_jsonl_invalid_utf8_and_bom(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "erste"}\n{"text": "caf\xe9"}\n{"text": "dritte"}\n')
    recs = records(path)
    assert [r.text for r in recs if isinstance(r, Article)] == ["erste", "dritte"]
    assert rejections(path) == [
        (2, "not valid UTF-8 (byte 14 of the line); save the file as UTF-8")
    ]


def test_jsonl_gz(tmp_path):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": "g", "text": "gepackt"}) + "\n")
    assert [r.id for r in records(path)] == ["g"]


def test_csv_with_header_quotes_and_embedded_newlines(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(
        'ID,Title,Text,Date,extra\n1,Eins,"Zeile eins\nZeile zwei",2015-01-02,x\n2,Zwei,Text zwei,,\n',
        "utf-8",
    )
    one, two = records(path)
    assert one.id == "1" and one.text == "Zeile eins\nZeile zwei" and one.extra == {"extra": "x"}
    assert two.date is None and two.extra == {}


def test_csv_bad_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(
        b"id,text,date\n1,gut,\n2,,\n3,x,nope\n4,caf\xe9,\n5,a,2015-01-01,zu viel\n6,gut,\n"
    )
    # one non-UTF-8 byte in the file's start: the file is read as Windows Latin-1 (sniffed)
    assert [r.text for r in records(path) if isinstance(r, Article)] == ["gut", "café", "gut"]
    assert [line for line, _ in rejections(path)] == [3, 4, 6]
    # told it is UTF-8, the line that is not is rejected with the reason
    told = [r for r in read_corpus([path], options=ReadOptions(encoding="utf-8"))]
    assert [r.line for r in told if isinstance(r, Rejection)] == [3, 4, 5, 6]


def test_csv_without_text_column(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("id,autor\n1,x\n", "utf-8")
    ((line, reason),) = rejections(path)
    assert line == 1 and reason.startswith("CSV header has no text or title column")
    assert "delimiter ','" in reason and "'autor'" in reason


def test_text_files(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text(
        "\n\nDer Titel\nErster Absatz.\n\nZweiter Absatz.\n", "utf-8"
    )
    (root / "b.md").write_text("", "utf-8")
    (root / "c.txt").write_text("Nur ein Titel\n", "utf-8")
    (root / "d.txt").write_bytes(b"Titel\nZeile\nkaputt \xff\n")
    (root / "notes.pdf").write_bytes(b"%PDF")
    (root / ".hidden.txt").write_text("x\ny", "utf-8")
    recs = records(root)
    arts = [r for r in recs if isinstance(r, Article)]
    assert [(a.id, a.title, a.text) for a in arts] == [
        ("sub/a.txt", "Der Titel", "Erster Absatz.\n\nZweiter Absatz.")
    ]
    reasons = {
        (r.path.rsplit("/", 1)[1], r.line, r.reason) for r in recs if isinstance(r, Rejection)
    }
    assert reasons == {
        ("b.md", 1, "empty file"),
        ("c.txt", 1, "no text after the title line"),
        ("d.txt", 3, "not valid UTF-8 (column 8); save the file as UTF-8"),
    }
    _files, skipped = discover([root])
    assert skipped == [str(root / "notes.pdf")]


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="not found"):
        records(tmp_path / "nope")


def test_latin1_is_recognised_and_named(tmp_path):
    path = tmp_path / "alt.jsonl"
    path.write_bytes('{"text": "Grüße aus München"}\n'.encode("cp1252"))
    ((line, reason),) = rejections(path)
    assert line == 1 and "Latin-1/Windows-1252" in reason and "iconv -f cp1252 -t utf-8" in reason
    txt = tmp_path / "alt.txt"
    txt.write_bytes("Titel\nStraße gesperrt\n".encode("latin-1"))
    assert "Latin-1" in rejections(txt)[0][1]


def test_control_characters_become_spaces(tmp_path):
    (art,) = records(
        write_jsonl(
            tmp_path / "c.jsonl",
            [{"id": "x", "title": "a\u0000b", "text": "Zeile\u001b[31m rot\nzwei"}],
        )
    )
    assert (art.id, art.title, art.text) == ("x", "a b", "Zeile [31m rot\nzwei")
    # in an id a control character is rejected, not cleaned: "x\u0007" and "x" are not one id
    (rej,) = records(write_jsonl(tmp_path / "i.jsonl", [{"id": "x\u0007", "text": "t"}]))
    assert isinstance(rej, Rejection) and "U+0007" in rej.reason


def test_rejected_records_keep_their_raw_text(tmp_path):
    path = write_jsonl(tmp_path / "r.jsonl", ['{"text": 1}', "[1, 2]"])
    assert [r.raw for r in records(path)] == ['{"text": 1}', "[1, 2]"]
    csv_path = tmp_path / "r.csv"
    csv_path.write_text('id,text,date\n1,"zwei\nZeilen",nie\n', "utf-8")
    (rej,) = records(csv_path)
    assert rej.raw == '1,"zwei\nZeilen",nie' and rej.line == 2


def test_csv_rows_with_missing_columns_and_empty_files(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("id,title,text,source\n1,Kurz,Nur drei Spalten\n2,Zwei\n", "utf-8")
    recs = records(path)
    assert recs[0].id == "1" and recs[0].source is None
    assert isinstance(recs[1], Article) and (recs[1].title, recs[1].text) == ("Zwei", "")
    (tmp_path / "empty.jsonl").write_text("", "utf-8")
    (tmp_path / "blank.jsonl").write_text("\n\n", "utf-8")
    assert records(tmp_path / "empty.jsonl", tmp_path / "blank.jsonl") == []
