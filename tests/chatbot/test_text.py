"""Normalisation, segmentation of municipal terms, and masking of personal data."""

import pytest

from civicstack.chatbot import text


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("身份证丢了怎么办", "身分證丟了怎麼辦"),  # Simplified, and the 份/分 variant
        ("市民咔可以搭公車嗎", "市民卡可以搭公車嗎"),  # a typo from the glossary
        ("我的身分証", "我的身分證"),  # a variant character OpenCC keeps
        ("ＩＤ卡　０９", "身分證 09"),  # full-width forms, and an abbreviation
        ("中低收入戶", "中低收入戶"),  # not read as 中 + 低收入戶
        ("我是低收", "我是低收入戶"),
    ],
)
def test_normalize_folds_variants_to_one_spelling(typed, normalized):
    assert text.normalize(typed) == normalized


@pytest.mark.parametrize(
    ("question", "term"),
    [("請問戶籍謄本要帶什麼", "戶籍謄本"), ("去交通事件裁決處繳罰單", "交通事件裁決處"), ("我想申請身心障礙證明", "身心障礙證明"),
     ("市民卡可以搭公車嗎", "市民卡"), ("家庭服務中心在哪", "家庭服務中心")],
)  # fmt: skip
def test_municipal_terms_are_single_words(question, term):
    assert term in text.words(text.normalize(question))


def test_stop_words_do_not_become_terms():
    assert text.words(text.normalize("請問我想要知道怎麼辦理結婚登記")) == ["結婚", "登記", "結婚登記"]


def test_bigrams_survive_a_typo():
    typo, right = set(text.bigrams("戶藉謄本")), set(text.bigrams("戶籍謄本"))
    assert typo & right == {"謄本"}


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("我的身分證A123456789", "我的身分證[id]"),
        ("居留證 FC12345678 過期", "居留證 [id] 過期"),  # old resident certificate
        ("新式居留證A800000014", "新式居留證[id]"),
        ("電話0912-345-678", "電話[phone]"),
        ("手機 0912 345 678 謝謝", "手機 [phone] 謝謝"),
        ("打+886 912 345 678", "打[phone]"),
        ("０９１２３４５６７８", "[phone]"),  # full-width digits
        ("家裡(03)332-2101或03-3322101", "家裡[phone]或[phone]"),
        ("寄到 amy.chen@example.com.tw 好嗎", "寄到 [email] 好嗎"),
        ("1999專線幾點", "1999專線幾點"),  # the hotline is not a phone number to hide
        ("規費200元、期限30日", "規費200元、期限30日"),
    ],
)
def test_personal_data_is_masked(raw, masked):
    assert text.mask_personal_data(raw) == masked


def test_english_detection_and_words():
    assert text.is_english("Where do I get a library card?")
    assert not text.is_english("library card 在哪裡辦")
    assert text.english_words("I lost my ID cards") == ["lost", "id", "card"]


@pytest.mark.parametrize(
    ("said", "official"),
    [
        ("生小孩有補助嗎", "生育"),
        ("家裡老人要辦卡", "敬老"),
        ("紅單去哪繳", "繳納"),
        ("床墊怎麼丟", "大型廢棄物"),
    ],
)
def test_the_synonym_lexicon_adds_the_official_terms(said, official):
    expanded = text.expand(text.normalize(said))

    assert expanded.startswith(text.normalize(said))  # the citizen's words are kept
    assert official in expanded and official in text.words(expanded)


def test_expansion_is_per_line_and_adds_no_term_already_there():
    assert text.expand(text.normalize("育兒津貼\n帶小孩")) == "育兒津貼\n帶小孩 育兒"
    assert text.expand("市民卡儲值") == "市民卡儲值"


def test_function_phrases_do_not_make_bigrams():
    assert text.bigrams(text.content("量子力學是什麼")) == ["量子", "子力", "力學", "學是"]
    assert text.content("怎麼辦") == "怎麼辦"  # nothing but function words: kept as it is


def test_generic_municipal_words_are_dropped_from_the_topic():
    assert text.without_generic_terms("生育市政府有補助嗎").split() == ["生育", "有補助嗎"]


def test_the_municipal_vocabulary_tells_city_topics_from_others():
    assert text.municipal_terms().search(text.normalize("停車費可以用手機繳嗎"))
    assert not text.municipal_terms().search(text.normalize("手機多少錢"))


def test_the_lexicon_holds_no_evaluation_question():
    """The evaluation set must measure generalisation: no phrase of the synonym lexicon may be a whole
    evaluation question (bench/chatbot.py also lists phrases seen only in held-out questions)."""
    questions = {
        text.normalize(line.split("\t")[0])
        for line in (text.DATA / "evaluation.tsv").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    glossary_terms = set(text.glossary()[0].values())  # "幾點開" is the glossary's 上班時間, not a copy
    assert not questions & (set(text.synonyms()[0]) - glossary_terms)


def test_village_names_are_found_after_normalisation():
    # OpenCC writes the 里 of a village name as 裡 (文化里 → 文化裡); the place is still recognised
    normalized = text.normalize("桃園區文化里垃圾車時間")

    assert "文化裡" in normalized
    assert text.places(normalized) == {"桃園區", "文化里"}


def test_one_template_for_many_places_has_one_shape():
    shape = text.shape(text.normalize("桃園區文化里垃圾車時間"))

    assert shape == text.shape(text.normalize("中壢區中正里垃圾車時間"))
    assert shape != text.shape(text.normalize("垃圾車幾點來"))
    assert text.shape("垃圾車幾點來") == "垃圾車幾點來"


def test_single_characters_skip_function_phrases_and_particles():
    assert text.characters(text.content(text.normalize("車子可以停哪裡"))) == ["車", "子", "停", "哪", "裡"]
