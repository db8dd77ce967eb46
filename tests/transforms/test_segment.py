import pytest

from polyrel.transforms.segment import guess_language, split_sentences, token_span, tokenize, unsupported_reason


def sentences(text, lang="und"):
    return [text[a:b] for a, b in split_sentences(text, lang)]


@pytest.mark.parametrize("text, lang, expected", [
    ("Dr. Anna Weber works in Munich. She met J. Smith! Did she? Yes.", "en",
     ["Dr. Anna Weber works in Munich.", "She met J. Smith!", "Did she?", "Yes."]),
    ("Er kam z.B. am Montag. Dann ging er.", "de", ["Er kam z.B. am Montag.", "Dann ging er."]),
    ("Анна живёт в Москве. Она работает в «Газпроме».", "ru", ["Анна живёт в Москве.", "Она работает в «Газпроме»."]),
    ("Η Μαρία ζει στην Αθήνα. Πού δουλεύει; Στη ΔΕΗ.", "el", ["Η Μαρία ζει στην Αθήνα.", "Πού δουλεύει;", "Στη ΔΕΗ."]),
    ("华为总部位于深圳。任正非创立了华为！", "zh", ["华为总部位于深圳。", "任正非创立了华为！"]),
    ("ソニーは東京にある。「本当？」と聞いた。", "ja", ["ソニーは東京にある。", "「本当？」と聞いた。"]),
    ("يعمل أحمد في أرامكو. هل يعيش في الرياض؟ نعم.", "ar", ["يعمل أحمد في أرامكو.", "هل يعيش في الرياض؟", "نعم."]),
    ("a title\n\nsecond paragraph", "en", ["a title", "second paragraph"]),
    ("It costs 3.5 euros. ok", "en", ["It costs 3.5 euros. ok"]),  # lower case after '.' continues
])
def test_split_sentences(text, lang, expected):
    assert sentences(text, lang) == expected


def test_tokens_keep_document_offsets():
    text = "  Jean-Luc O'Neil paid 1,000.50 € to 東京電力, (Tokyo)."
    tokens = tokenize(text)
    assert all(text[t.start:t.end] == t.text for t in tokens)
    assert [t.text for t in tokens] == ["Jean-Luc", "O'Neil", "paid", "1,000.50", "€", "to", "東", "京", "電", "力",
                                        ",", "(", "Tokyo", ")", "."]
    inner = tokenize(text, 2, 10)
    assert [t.text for t in inner] == ["Jean-Luc"] and inner[0].start == 2


def test_token_span_covers_every_touched_token():
    text = "Anna Weber lives in 東京都."
    tokens = tokenize(text)
    assert token_span(tokens, 0, 10) == (0, 2)  # exact
    assert token_span(tokens, 2, 7) == (0, 2)  # inside words: widened to whole tokens
    assert token_span(tokens, 20, 22) == (4, 6)  # two Han characters
    assert token_span(tokens, 10, 11) is None  # only the space


def test_kana_and_hangul():
    assert [t.text for t in tokenize("ソニーは")] == ["ソ", "ニ", "ー", "は"]
    assert [t.text for t in tokenize("서울은 크다")] == ["서울은", "크다"]


def test_language_guess_and_support():
    assert guess_language("ソニーは東京") == "ja"
    assert guess_language("华为") == "zh"
    assert guess_language("Αθήνα") == "el"
    assert guess_language("Berlin") == "und"
    assert unsupported_reason("Berlin is big.", "en") is None
    assert unsupported_reason("Berlin is big.", "de-AT") is None
    assert "unsupported language 'tlh'" in unsupported_reason("Qapla'", "tlh")
    assert "unsupported script" in unsupported_reason("สวัสดีครับ ผมชื่อ", "und")
