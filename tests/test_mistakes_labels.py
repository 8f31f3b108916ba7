"""Labels are matched to class names exactly, case-insensitively or by index; the rest is reported."""
from interpret.mistakes import match_labels
from interpret.models.classes import imagenet_classes

NAMES = imagenet_classes()


def test_exact_case_insensitive_and_index_labels_match():
    match = match_labels(["tabby", "Tiger Cat", "egyptian_cat", "281", "0"], NAMES)
    assert match.indices == {"tabby": 281, "Tiger Cat": 282, "egyptian_cat": 285, "281": 281, "0": 0}
    assert match.how["tabby"] == "exact" and match.how["Tiger Cat"] == "case-insensitive" and match.how["281"] == "index"
    assert not match.unmatched and not match.ambiguous


def test_labels_matching_no_class_are_reported_not_guessed():
    match = match_labels(["tabbby", "cat", "1000", "-3", "espresso"], NAMES)
    assert match.indices == {"espresso": NAMES.index("espresso")}
    assert set(match.unmatched) == {"tabbby", "cat", "1000", "-3"}
    problems = match.describe_problems(NAMES)
    assert len(problems) == 4 and all("matches no class" in p for p in problems)


def test_a_label_that_fits_two_classes_is_ambiguous():
    cardigans = tuple(i for i, name in enumerate(NAMES) if name.lower() == "cardigan")  # the dog and the sweater
    assert len(cardigans) == 2
    match = match_labels(["CARDIGAN", "Cardigan", str(cardigans[1])], NAMES)
    assert match.ambiguous == {"CARDIGAN": cardigans}
    assert match.indices == {"Cardigan": NAMES.index("Cardigan"), str(cardigans[1]): cardigans[1]}
    assert "use the class index" in match.describe_problems(NAMES)[0]


def test_duplicate_class_names_are_ambiguous_even_when_exact():
    match = match_labels(["crane"], ("crane", "heron", "crane"))
    assert match.ambiguous == {"crane": (0, 2)} and not match.indices


def test_exact_name_wins_over_index_for_models_whose_classes_are_digits():
    digits = tuple(str(9 - i) for i in range(10))  # class 0 is named "9"
    assert match_labels(["3"], digits).indices == {"3": digits.index("3")}


def test_a_label_left_out_says_how_many_images_it_leaves_out_and_a_chosen_class_takes_them_in():
    labels = ["kitties"] * 3 + ["espresso"] * 2 + ["CARDIGAN"]
    match = match_labels(labels, NAMES)
    assert match.problems == ("kitties", "CARDIGAN") and match.counts == {"kitties": 3, "espresso": 2, "CARDIGAN": 1}
    problems = match.describe_problems(NAMES)
    assert "'kitties' matches no class of this model: its 3 images left out." in problems
    assert "its 1 image left out" in problems[1]
    chosen = match_labels(labels, NAMES, {"kitties": 281, "CARDIGAN": NAMES.index("Cardigan"), "espresso": 5000})
    assert chosen.indices["kitties"] == 281 and chosen.how["kitties"] == "chosen" and not chosen.problems
    assert chosen.indices["espresso"] == NAMES.index("espresso")  # a choice out of range is ignored
