from polyrel.schemas.records import Sentence
from polyrel.transforms.segment import tokenize
from polyrel.transforms.words import join_words, model_words, word_starts


def sentence(text: str, lang: str, offset: int = 0) -> Sentence:
    document = " " * offset + text
    return Sentence("d", 0, offset, len(document), text, lang, tokenize(document, offset))


def test_runs_join_characters_and_cut_at_entity_boundaries() -> None:
    tokens = tokenize("日本队战胜了叙利亚队, Paris 2024 東京タワーへ")
    assert join_words(tokens, [], None) == (("日本队战胜了叙利亚队", ",", "Paris", "2024", "東京タワーへ"), [])
    tokyo = (len(tokens) - 6, len(tokens) - 1)
    words, spans = join_words(tokens, [(6, 9), tokyo], None)
    assert words == ("日本队战胜了", "叙利亚", "队", ",", "Paris", "2024", "東京タワー", "へ")
    assert [words[s:e] for s, e in spans] == [("叙利亚",), ("東京タワー",)]
    assert join_words(tokenize("日 本"), [], None)[0] == ("日", "本")  # a space keeps characters apart


def test_chinese_and_japanese_read_as_dictionary_words() -> None:
    zh = sentence("华为总部位于深圳。", "zh", offset=5)  # document offsets: the sentence starts at 5
    assert model_words(zh, []) == (("华为", "总部", "位于", "深圳", "。"), [])
    ja = sentence("ソニーは東京にある。", "ja-JP")
    assert model_words(ja, [])[0] == ("ソニー", "は", "東京", "に", "ある", "。")


def test_entities_keep_their_exact_characters_inside_a_dictionary_word() -> None:
    zh = sentence("中国人民银行在北京。", "zh")
    assert model_words(zh, [])[0][0] == "中国人民银行"
    words, spans = model_words(zh, [(0, 2), (7, 9)])  # 中国 inside 中国人民银行, and 北京
    assert words[:3] == ("中国", "人民银行", "在") and [words[s:e] for s, e in spans] == [("中国",), ("北京",)]


def test_other_languages_read_their_tokens_unchanged() -> None:
    en = sentence("Anna lives in Munich.", "en")
    assert model_words(en, [(0, 1), (3, 4)]) == (("Anna", "lives", "in", "Munich", "."), [(0, 1), (3, 4)])
    assert word_starts("Anna lives in Munich.", "en") is None
    ko = sentence("서울은 크다", "ko")
    assert model_words(ko, [])[0] == ("서울은", "크다")
