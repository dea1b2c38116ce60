"""PII redaction on the labelled set: recall ≥ 0.95, no product title or order id redacted."""
from eval.pii_eval import evaluate

from catalog.privacy import redact


def test_labelled_set_recall_and_no_false_positives():
    result = evaluate()
    assert result["strings"] >= 150
    assert result["recall"] >= 0.95, result["misses"]
    assert result["false_positive_strings"] == 0, result["false_positives"]


def test_redact_examples():
    out = redact("card 4111.1111.1111.1111 exp 09/27 cvv 123, call 07700 900123, my name is John Smith, "
                 "order 112233445566778")
    assert out == ("card [card] exp [expiry] cvv [cvv], call [phone], my name is [name], order 112233445566778")
    assert redact(None) == "" and redact("Hornby R3456 Flying Scotsman") == "Hornby R3456 Flying Scotsman"
