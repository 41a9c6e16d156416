"""How the pages write digits, confidences and sizes."""

from ui.text import a_digit, megabytes, sure_text


def test_an_eight_takes_an():
    assert [a_digit(d) for d in (1, 7, 8)] == ["a 1", "a 7", "an 8"]


def test_a_model_is_never_shown_as_100_percent_sure():
    assert sure_text(0.99999) == "> 99.9% sure"
    assert sure_text(0.9995) == "> 99.9% sure"
    assert sure_text(0.9994) == "99.9% sure"
    assert sure_text(0.973) == "97.3% sure"


def test_megabytes_are_those_of_the_upload_limit():
    assert megabytes(20 * 1024 * 1024) == "20.0 MB"


def test_probability_bars_never_label_a_bar_100_percent():
    from mnist_core.charts import percent_label, probability_bars

    assert [percent_label(p) for p in (99.99, 99.96, 99.7, 99.4, 3.0)] == ["> 99.9%", "> 99.9%", "99.7%", "99%", "3%"]
    figure = probability_bars([0.99999] + [0.000001] * 9)
    assert figure.data[0].text[0] == "> 99.9%"
    assert figure.data[0].customdata[0] == "> 99.9%"
