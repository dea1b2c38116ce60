"""The page's pure parts (cards, cart, replies) and the Blocks wiring, without a browser."""
from __future__ import annotations

from assistant.types import ProductPick, Reply
from catalog.records import Attribute, Product
from ui.cards import MAX_CARDS, card_html, card_updates, cart_markdown, details_markdown, money, reply_markdown
from ui.web import build_blocks, new_session
from ui_fakes import FakeBackend


def test_money_formats_known_and_unknown_currencies():
    assert money(12.5, "GBP") == "£12.50" and money(499, "INR") == "₹499.00"
    assert money(3, "CHF") == "3.00 CHF" and money(None, "GBP") == "price unknown"


def test_card_escapes_catalog_text_and_only_shows_http_images():
    card = card_html({"id": 'x"1', "title": "<script>alert(1)</script>", "price": 5.0, "currency": "GBP",
                      "image_url": "javascript:alert(1)", "explanation": "a & b", "score": 0.5,
                      "scores": {"personal_affinity": 0.25}})
    assert "<script>" not in card and "&lt;script&gt;" in card and "javascript:" not in card
    assert "a &amp; b" in card and "fits your history" in card and "0.250" in card
    assert '<img src="https://e.x/i.jpg"' in card_html({"id": "1", "title": "t", "image_url": "https://e.x/i.jpg"})


def test_card_updates_fill_and_hide_slots():
    updates = card_updates([{"id": "1", "title": "One", "score": 1.0}])
    assert len(updates) == 2 * MAX_CARDS
    assert updates[0]["visible"] is True and "One" in updates[1]
    assert updates[2]["visible"] is False and updates[3] == ""


def test_reply_cart_and_details_text():
    reply = Reply(session_id="s1", intent="search", reply="Two picks.", final=False,
                  products=[ProductPick(id="1", title="Train", price=9.0, currency="GBP", score=1.0)])
    text = reply_markdown(reply)
    assert "Two picks." in text and "**Train** — £9.00" in text and "writing explanations" in text
    assert "empty" in cart_markdown([])
    assert "Cart (2)" in cart_markdown([{"title": "a", "price": 1, "currency": "GBP"},
                                        {"title": "b", "price": None, "bought": True}])
    product = Product(id="1", title="Train", price=9.0, currency="GBP", brand="Brio", category=["toys", "trains"],
                      attributes={"colour": Attribute(value="red")}, rating=4.5, description="Wooden.")
    details = details_markdown(product, {"title": "Train"})
    assert "Brio" in details and "toys › trains" in details and "Colour:** red" in details and "4.5 / 5" in details


def test_every_browser_gets_its_own_session():
    first, second = new_session(None), new_session("demo-tom")
    assert first["session_id"] != second["session_id"] and first["cart"] is not second["cart"]
    assert second["user_id"] == "demo-tom" and first["user_id"] is None


def test_blocks_have_the_documented_element_ids():
    blocks = build_blocks(FakeBackend(), [])
    ids = {getattr(block, "elem_id", None) for block in blocks.blocks.values()}
    expected = {"shopper", "profile", "chat", "msg", "send", "talk", "status", "cart", "details"}
    expected |= {f"card-{i}{suffix}" for i in range(MAX_CARDS)
                 for suffix in ("", "-body", "-details", "-like", "-cart", "-buy", "-skip")}
    assert expected <= ids


def test_cli_has_serve_and_demo():
    from typer.testing import CliRunner

    from ui.cli import build_app

    runner = CliRunner()
    app = build_app()
    serve_help = runner.invoke(app, ["serve", "--help"])
    assert serve_help.exit_code == 0 and "--port" in serve_help.output and "--host" in serve_help.output
    demo_help = runner.invoke(app, ["demo", "--help"])
    assert demo_help.exit_code == 0 and "--no-serve" in demo_help.output


def test_demo_shoppers_are_marked_synthetic_and_refer_to_the_demo_catalog():
    import json

    from ui.shoppers import DEFAULT_SHOPPERS_PATH, load_shoppers

    data = json.loads(DEFAULT_SHOPPERS_PATH.read_text())
    assert data["synthetic"] is True and "SYNTHETIC" in data["note"]
    catalog = DEFAULT_SHOPPERS_PATH.parent / "products.jsonl"
    ids = {json.loads(line)["id"] for line in catalog.read_text().splitlines() if line.strip()}
    shoppers = load_shoppers()
    assert len(shoppers) >= 3 and all(s.history for s in shoppers)
    assert all(h["item_id"] in ids for s in shoppers for h in s.history)


def test_demo_histories_load_once(tmp_path):
    import json

    from catalog.events import EventStore
    from catalog.privacy import pseudonymise
    from catalog.records import Product
    from catalog.settings import Settings
    from catalog.store import Store
    from ui.shoppers import DEFAULT_SHOPPERS_PATH, load_histories, load_shoppers

    settings = Settings(data_dir=tmp_path)
    store = Store.from_settings(settings)
    tom = next(s for s in load_shoppers() if s.id == "demo-tom")
    wanted = {h["item_id"] for h in tom.history}
    rows = (json.loads(line) for line in (DEFAULT_SHOPPERS_PATH.parent / "products.jsonl").open())
    store.upsert_products(Product(id=r["id"], title=r["title"], price=r.get("price")) for r in rows if r["id"] in wanted)
    assert load_histories(settings, [tom], store=store) == {"demo-tom": len(wanted)}
    assert load_histories(settings, [tom], store=store) == {"demo-tom": 0}  # idempotent
    history = EventStore(store).history(pseudonymise("demo-tom", settings.user_id_key), 50)
    assert {e.item_id for e in history} == wanted


def test_a_message_sent_before_the_page_load_finished_is_answered_and_kept():
    """The browser may send a message before the load event has given the tab its session."""
    backend = FakeBackend()
    blocks = build_blocks(backend, [])
    handlers = {getattr(f.fn, "__name__", ""): f.fn for f in blocks.fns.values()}
    updates = list(handlers["respond"]("wooden train", [], None, ""))
    history, _, state, status = updates[-1][:4]
    assert status == "Done." and history[-1]["content"].startswith("Here are")
    assert state["session_id"] in backend.transcripts and state["user_id"] is None
    late_load = handlers["start_unless_chatting"]("", state)  # the load event arriving after the turn
    assert all(update == {"__type__": "update"} for update in late_load)  # gr.skip(): nothing changes
    assert handlers["start_unless_chatting"]("", None)[0]["session_id"] != state["session_id"]
