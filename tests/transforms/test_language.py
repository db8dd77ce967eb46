from polyrel.transforms.language import identify


def test_confident_paragraphs_get_their_language():
    assert identify("Harbour Freight Lines opened a new terminal in Rotterdam on Tuesday. The site will employ "
                    "two hundred people.") == "en"
    assert identify("Jonas Keller leitet das Institut für Klimaforschung in Potsdam seit drei Jahren.") == "de"
    assert identify("Le maire de Lyon a inauguré le nouveau pont sur le Rhône.") == "fr"
    assert identify("Київ — столиця України, де працює уряд.") == "uk"


def test_the_script_decides_first_and_a_name_alone_stays_undetermined():
    assert identify("ソニーは東京に本社を置く") == "ja"
    assert identify("华为总部位于深圳") == "zh"
    assert identify("Berlin") == "und"
    assert identify("Siemens AG") == "und"
    assert identify("") == "und"


def test_only_languages_the_splitter_handles_are_answered():
    from polyrel.transforms.segment import LANGUAGES

    texts = ["Dit is een Nederlandse zin over de haven van Rotterdam.", "To jest zdanie po polsku o Warszawie.",
             "Bu cümle İstanbul hakkında Türkçe yazılmıştır."]
    assert all(identify(t) in LANGUAGES for t in texts)
