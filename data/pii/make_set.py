"""Writes labelled.jsonl: hand-written strings (not from any evaluation set) with the personal data in each.

Each line: {"text": ..., "pii": [[label, substring], ...], "kind": "pii" | "title" | "order"}.
Strings of kind title/order contain no personal data: nothing in them may be redacted.
Run: python data/pii/make_set.py
"""
import json
from pathlib import Path

P = [
    # UK phones
    ("Call me on 07700 900123 after 6pm", [("phone", "07700 900123")]),
    ("my mobile is +44 7700 900456", [("phone", "+44 7700 900456")]),
    ("office line 020 7946 0958, ask for accounts", [("phone", "020 7946 0958")]),
    ("ring 0161 496 0000 if the courier is lost", [("phone", "0161 496 0000")]),
    ("You can text me at 07700900789", [("phone", "07700900789")]),
    ("reach me on +44 (0)20 7946 0123 please", [("phone", "+44 (0)20 7946 0123")]),
    ("my number is 0113 496 0555", [("phone", "0113 496 0555")]),
    ("whatsapp +447700900321 is best", [("phone", "+447700900321")]),
    ("Phone: 07700-900-654", [("phone", "07700-900-654")]),
    ("landline 0131 496 0999 during the day", [("phone", "0131 496 0999")]),
    # India phones
    ("call +91 98765 43210 for delivery", [("phone", "+91 98765 43210")]),
    ("mera number 98765 43210 hai", [("phone", "98765 43210")]),
    ("my phone is 9876543210", [("phone", "9876543210")]),
    ("office: +91-22-2345-6789", [("phone", "+91-22-2345-6789")]),
    ("contact 09876543210 before noon", [("phone", "09876543210")]),
    ("reach me on +91 80 4123 4567", [("phone", "+91 80 4123 4567")]),
    ("mobile +919812345678 please call", [("phone", "+919812345678")]),
    ("my cell is 91234 56789", [("phone", "91234 56789")]),
    ("call 080-4123-4567 the Bengaluru office", [("phone", "080-4123-4567")]),
    ("whatsapp me at 98450 12345", [("phone", "98450 12345")]),
    # US phones
    ("call me at (555) 010-9999", [("phone", "(555) 010-9999")]),
    ("my number is 555-010-4477", [("phone", "555-010-4477")]),
    ("phone +1 415 555 2671 anytime", [("phone", "+1 415 555 2671")]),
    ("toll free 1-800-555-0199 did not help", [("phone", "1-800-555-0199")]),
    ("text 415.555.2671 when shipped", [("phone", "415.555.2671")]),
    ("you can reach me at 212 555 0143", [("phone", "212 555 0143")]),
    ("cell: (646) 555-0187", [("phone", "(646) 555-0187")]),
    ("+1 (312) 555-0100 is my work phone", [("phone", "+1 (312) 555-0100")]),
    ("Call 312-555-0175 to confirm", [("phone", "312-555-0175")]),
    ("my husband's phone is 617 555 0123", [("phone", "617 555 0123")]),
    # cards
    ("my card 4111 1111 1111 1111 was charged twice", [("card", "4111 1111 1111 1111")]),
    ("card number 4111-1111-1111-1111", [("card", "4111-1111-1111-1111")]),
    ("I paid with 4111.1111.1111.1111 yesterday", [("card", "4111.1111.1111.1111")]),
    ("mastercard 5500 0000 0000 0004 declined", [("card", "5500 0000 0000 0004")]),
    ("amex 3782 822463 10005 please refund", [("card", "3782 822463 10005")]),
    ("discover 6011 1111 1111 1117", [("card", "6011 1111 1111 1117")]),
    ("use 5555555555554444 instead", [("card", "5555555555554444")]),
    ("visa 4012888888881881 is the new one", [("card", "4012888888881881")]),
    ("the card ending 378282246310005 got billed", [("card", "378282246310005")]),
    ("card 5105.1051.0510.5100 has been blocked", [("card", "5105.1051.0510.5100")]),
    ("my debit card 4000 0566 5566 5556 failed", [("card", "4000 0566 5566 5556")]),
    ("new card: 5200-8282-8282-8210", [("card", "5200-8282-8282-8210")]),
    ("pay with 6011.0009.9013.9424 please", [("card", "6011.0009.9013.9424")]),
    ("JCB 3530 1113 3330 0000", [("card", "3530 1113 3330 0000")]),
    # CVV and expiry
    ("card 4111 1111 1111 1111 exp 09/27 cvv 123", [("card", "4111 1111 1111 1111"), ("expiry", "09/27"), ("cvv", "123")]),
    ("the CVC is 4567", [("cvv", "4567")]),
    ("security code: 321", [("cvv", "321")]),
    ("the 3 digit code on the back is 837", [("cvv", "837")]),
    ("cvv2 998 and expiry 11/2028", [("cvv", "998"), ("expiry", "11/2028")]),
    ("expires 03-26, code 552", [("expiry", "03-26")]),
    ("valid thru 12/29", [("expiry", "12/29")]),
    ("expiration date 07/30 on the card", [("expiry", "07/30")]),
    ("CVV: 019", [("cvv", "019")]),
    ("exp. 01/28 cvc 777", [("expiry", "01/28"), ("cvv", "777")]),
    ("5500 0000 0000 0004 08/27 442", [("card", "5500 0000 0000 0004"), ("expiry", "08/27"), ("cvv", "442")]),
    ("expiry date is 10/31", [("expiry", "10/31")]),
    ("csc 1234 on my amex", [("cvv", "1234")]),
    ("Expiry: 06/2027", [("expiry", "06/2027")]),
    ("security code is 909, valid until 02/29", [("cvv", "909"), ("expiry", "02/29")]),
    # emails
    ("email me at jane.doe@example.com", [("email", "jane.doe@example.com")]),
    ("my email is raj+shop@mail.example.in", [("email", "raj+shop@mail.example.in")]),
    ("send the invoice to accounts@example.co.uk", [("email", "accounts@example.co.uk")]),
    ("Contact: tom_w@example.org", [("email", "tom_w@example.org")]),
    ("reply to p.sharma@example.net please", [("email", "p.sharma@example.net")]),
    ("it went to my old address bob1987@example.com", [("email", "bob1987@example.com")]),
    ("use leo.s@example.io for receipts", [("email", "leo.s@example.io")]),
    ("cc my wife: anna-m@example.de", [("email", "anna-m@example.de")]),
    ("mail: support-me@example.com", [("email", "support-me@example.com")]),
    ("I'm maria.garcia@example.es on your site", [("email", "maria.garcia@example.es")]),
    # addresses
    ("please deliver to 221B Baker Street, London", [("address", "221B Baker Street")]),
    ("I live at 42 Elm Road, Leeds", [("address", "42 Elm Road")]),
    ("ship to 1600 Pennsylvania Avenue", [("address", "1600 Pennsylvania Avenue")]),
    ("my address is 350 Fifth Avenue, New York", [("address", "350 Fifth Avenue")]),
    ("flat 3, 17 Kings Road was the drop-off", [("address", "17 Kings Road")]),
    ("postcode SW1A 1AA", [("address", "SW1A 1AA")]),
    ("send it to M1 1AE please", [("address", "M1 1AE")]),
    ("the parcel for EC1A 1BB never came", [("address", "EC1A 1BB")]),
    ("Austin, TX 78701 is where I am", [("address", "TX 78701")]),
    ("San Francisco, CA 94105", [("address", "CA 94105")]),
    ("Koramangala, Bengaluru, 560034", [("address", "560034")]),
    ("PIN code 400001 Mumbai", [("address", "400001")]),
    ("deliver to 12 MG Road, Pune", [("address", "12 MG Road")]),
    ("45 Park Lane, Mayfair W1K 1PN", [("address", "45 Park Lane"), ("address", "W1K 1PN")]),
    ("my house is 7 Nehru Nagar", [("address", "7 Nehru Nagar")]),
    ("I'm at 88 Station Road, Cambridge CB1 2JW", [("address", "88 Station Road"), ("address", "CB1 2JW")]),
    ("ship it to 500 Oak Street, Springfield, IL 62701", [("address", "500 Oak Street"), ("address", "IL 62701")]),
    ("the courier left it at 3 Church Lane", [("address", "3 Church Lane")]),
    ("apt 5, 19 Queen Street", [("address", "19 Queen Street")]),
    ("my office is 101 Market Street, zip 94103", [("address", "101 Market Street"), ("address", "94103")]),
    ("Address: 14 Rose Close, Bristol BS1 4DJ", [("address", "14 Rose Close"), ("address", "BS1 4DJ")]),
    ("deliver to 9 Gandhi Marg, Delhi - 110001", [("address", "9 Gandhi Marg"), ("address", "110001")]),
    ("it went to 76 Maple Drive instead", [("address", "76 Maple Drive")]),
    ("parcel for 2 Victoria Terrace, Bath", [("address", "2 Victoria Terrace")]),
    ("my zip code is 10001", [("address", "10001")]),
    # names
    ("my name is John Smith", [("name", "John Smith")]),
    ("My name is Priya Sharma and my order is late", [("name", "Priya Sharma")]),
    ("hi, my name is maria garcia", [("name", "maria garcia")]),
    ("I'm Tom, the order never arrived", [("name", "Tom")]),
    ("you can call me Dave", [("name", "Dave")]),
    ("Name: Aisha Khan", [("name", "Aisha Khan")]),
    ("Regards, Emily Clarke", [("name", "Emily Clarke")]),
    ("my name's Raj Patel", [("name", "Raj Patel")]),
    ("I am Li Wei and I want a refund", [("name", "Li Wei")]),
    ("my name is Dr. Sarah Connor", [("name", "Sarah Connor")]),
    ("hello my name is ahmed", [("name", "ahmed")]),
    ("this is urgent, my name is Olivia Brown", [("name", "Olivia Brown")]),
    ("I'm called Sam", [("name", "Sam")]),
    ("my name is Mrs Jones", [("name", "Jones")]),
    ("signed Kofi Mensah", [("name", "Kofi Mensah")]),
    # mixed
    ("I'm Anna, email anna@example.com, phone 07700 900111", [("name", "Anna"), ("email", "anna@example.com"), ("phone", "07700 900111")]),
    ("my name is Vikram Rao, call +91 98765 00001, ship to 4 Lake Road", [("name", "Vikram Rao"), ("phone", "+91 98765 00001"), ("address", "4 Lake Road")]),
    ("order 12345678 went to 5 Mill Lane, card 4111 1111 1111 1111", [("address", "5 Mill Lane"), ("card", "4111 1111 1111 1111")]),
    ("refund card 5555 5555 5555 4444 exp 04/28, mail me at k@example.com", [("card", "5555 5555 5555 4444"), ("expiry", "04/28"), ("email", "k@example.com")]),
    ("call (555) 010-2222 or write to x.y@example.com", [("phone", "(555) 010-2222"), ("email", "x.y@example.com")]),
    ("my name is Chloe Martin, I live at 31 Hill Street, EH1 1QR", [("name", "Chloe Martin"), ("address", "31 Hill Street"), ("address", "EH1 1QR")]),
    ("phone 0161 496 0123 and postcode M4 5JD", [("phone", "0161 496 0123"), ("address", "M4 5JD")]),
    ("I am Rahul, 98765 11111, Pune 411001", [("name", "Rahul"), ("phone", "98765 11111"), ("address", "411001")]),
    ("cvv 456 expiry 09/29 card 4012 8888 8888 1881", [("cvv", "456"), ("expiry", "09/29"), ("card", "4012 8888 8888 1881")]),
    ("please call me on 07700 900222, my name is Grace Lee", [("phone", "07700 900222"), ("name", "Grace Lee")]),
]

NEGATIVE = [
    ("title", "Hornby R3456 Flying Scotsman 1:76 scale"), ("title", "LEGO 75192 Millennium Falcon"),
    ("title", "Samsung 55-inch 4K UHD Smart TV UE55AU7100"), ("title", "Canon EOS 2000D DSLR camera"),
    ("title", "Bosch PSB 1800 LI-2 combi drill"), ("title", "Dell XPS 13 9340 laptop 16GB 512GB"),
    ("title", "3M 8210 N95 mask, 20 pack"), ("title", "Thomas & Friends Wooden Railway 2 in 1 set"),
    ("title", "Kingston 128 GB 3200 MHz DDR4"), ("title", "Monitor 3840 x 2160 60 Hz"),
    ("title", "Brio 33165 railway starter set"), ("title", "Dyson V15 Detect cordless vacuum"),
    ("title", "Casio G-Shock GA-2100-1A1 watch"), ("title", "Nike Air Max 270, size 10.5 UK"),
    ("title", "Apple iPhone 15 Pro 256GB"), ("title", "Pampers size 4, 1 x 174 nappies"),
    ("title", "Coca-Cola 24 x 330ml cans"), ("title", "Seiko 5 Sports SRPD55K1"),
    ("title", "Star Wars Black Series 6-inch Darth Vader"), ("title", "Bachmann 31-650 Class 20 locomotive"),
    ("title", "HP 305 ink cartridge twin pack"), ("title", "Philips Hue 2200-6500K bulb E27"),
    ("title", "Logitech MX Master 3S mouse"), ("title", "Ravensburger 1000 piece puzzle 19876"),
    ("title", "Sony WH-1000XM5 headphones"), ("title", "Hot Wheels 20 car gift pack"),
    ("title", "Fitbit Charge 6, 7 day battery"), ("title", "Samsonite 55 x 40 x 20 cm cabin case"),
    ("title", "Duracell AA batteries 12 pack 1.5V"), ("title", "Citizen Eco-Drive BM8180-03E"),
    ("title", "Hasbro Monopoly Classic 2023 edition"), ("title", "ISBN 978-0-14-143951-8 paperback"),
    ("title", "Garmin Forerunner 265 GPS watch"), ("title", "Nikon Z 24-70mm f/4 S lens"),
    ("title", "Adidas Ultraboost 22 running shoes size 8"), ("title", "Tefal 28 cm frying pan"),
    ("title", "Xbox Series X 1TB console"), ("title", "Call of Duty Black Ops 6"),
    ("title", "Puma Suede Classic 374915 01"), ("title", "Jellycat Bashful Bunny 31 cm"),
    ("title", "Red toy racing car £9.50"), ("title", "The 39 Steps DVD"),
    ("title", "Oxford Street Map of London poster"), ("title", "Baker Street Sherlock Holmes mug"),
    ("title", "Dymo 1000 Plus label maker"), ("title", "Ray-Ban RB2140 Wayfarer 50 mm"),
    ("order", "my order 112233445566778 has not arrived"), ("order", "order #12345678 is late"),
    ("order", "my order number is 4455667788"), ("order", "ORD-2024-118822 was cancelled"),
    ("order", "tracking 1Z999AA10123456784"), ("order", "invoice 20240315001 is wrong"),
    ("order", "order id 9876543210 shows delivered"), ("order", "ref 445566 on the return label"),
    ("order", "ticket #100234 about my refund"), ("order", "order no. 300012345 was split"),
    ("order", "it was delivered on 12/03/2024"), ("order", "I paid £24.99 for 2 items"),
    ("order", "return within 30 days of 14-02-2025"), ("order", "order 8877665544 and order 8877665545"),
    ("order", "my order 4111111111 arrived broken"),
]


def main() -> None:
    out = Path(__file__).with_name("labelled.jsonl")
    with open(out, "w", encoding="utf-8") as handle:
        for text, pii in P:
            if not pii:
                continue
            for _, sub in pii:
                assert sub in text, (sub, text)
            handle.write(json.dumps({"text": text, "pii": [list(p) for p in pii], "kind": "pii"}) + "\n")
        for kind, text in NEGATIVE:
            handle.write(json.dumps({"text": text, "pii": [], "kind": kind}) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
