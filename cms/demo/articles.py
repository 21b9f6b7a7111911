"""The sample articles of "The Riverside Ledger" that `cms init --demo` writes."""

from __future__ import annotations

import copy
from typing import Any

# Where the demo's pictures were, on a host that does not resolve; `cms init --demo` draws
# them (`cms.demo_pictures`) and `with_pictures` puts the paths it stored them at in their place.
PICTURES_AT = "https://images.example.org/riverside/"


def with_pictures(paths: dict[str, str]) -> list[dict[str, Any]]:
    """The demo articles with each picture's `src` the media path `paths` gives for its name."""
    articles = copy.deepcopy(ARTICLES)
    for article in articles:
        for image in [article.get("image"), *article["body"]]:
            src = image.get("src") if isinstance(image, dict) else None
            if isinstance(src, str) and src.startswith(PICTURES_AT):
                image["src"] = paths[src.removeprefix(PICTURES_AT).removesuffix(".jpg")]
    return articles


ARTICLES: list[dict[str, Any]] = [
    {
        "slug": "riverside-library-reopens-after-renovation",
        "title": "Riverside Library reopens its doors after eighteen-month renovation",
        "summary": (
            "The Carnegie-era library on Elm Street welcomed readers back on Saturday with a new "
            "children's wing, a makerspace and a restored reading room."
        ),
        "section": "local",
        "tags": ["library", "renovation", "community"],
        "authors": [
            {"name": "Maya Okafor", "url": "https://riverside-ledger.example.org/staff/maya-okafor"}
        ],
        "language": "en",
        "image": {
            "src": "https://images.example.org/riverside/library-reading-room.jpg",
            "alt": "Sunlight falls across long oak tables in the restored library reading room.",
            "caption": "The restored reading room kept its original oak tables and brass lamps.",
            "credit": "Photo: Daniel Reyes / The Riverside Ledger",
        },
        "body": [
            {
                "type": "paragraph",
                "text": (
                    "More than four hundred people queued along Elm Street on Saturday morning "
                    "as the Riverside Public Library reopened after eighteen months of "
                    "construction. The doors opened at nine o'clock sharp, and the first "
                    "visitors headed straight for the new children's wing. By lunchtime the "
                    "staff had issued 212 new library cards."
                ),
            },
            {
                "type": "paragraph",
                "text": (
                    "The renovation cost 3.2 million dollars, most of it covered by a state "
                    "heritage grant and a decade of fundraising by the Friends of the Library. "
                    "Workers replaced the leaking roof, installed a lift and rewired the whole "
                    "building. The original 1911 facade was cleaned but otherwise left untouched."
                ),
            },
            {"type": "heading", "text": "What is new inside", "level": 2},
            {
                "type": "list",
                "items": [
                    "A children's wing with a story-time corner and low shelving",
                    "A makerspace with two 3D printers and a sewing station",
                    "Twelve bookable study rooms on the upper floor",
                    "Step-free access to every floor through a new lift",
                ],
                "ordered": False,
            },
            {
                "type": "quote",
                "text": (
                    "A library is the one room in town where nobody asks you to buy anything. "
                    "We wanted it to feel like it belongs to everyone again."
                ),
                "cite": "Helen Marsh, head librarian",
            },
            {
                "type": "paragraph",
                "text": (
                    "Opening hours are extended until eight in the evening on weekdays. The "
                    "library will also host a free coding club for teenagers every Thursday. "
                    "Books borrowed from the temporary branch in the old post office can be "
                    "returned at either location until the end of the month."
                ),
            },
        ],
    },
    {
        "slug": "council-approves-2025-budget",
        "title": "Council approves 2025 budget by a single vote after late-night session",
        "section": "politics",
        "tags": ["council", "budget", "taxes"],
        "authors": [{"name": "Tom Lindqvist"}, {"name": "Priya Natarajan"}],
        "language": "en",
        "body": [
            {
                "type": "paragraph",
                "text": (
                    "Riverside Town Council approved next year's budget by five votes to four "
                    "shortly before midnight on Tuesday. The 48-million-dollar plan raises "
                    "property taxes by 2.1 percent, less than the 3.5 percent first proposed. "
                    "The debate lasted nearly six hours and drew one of the largest crowds the "
                    "council chamber has seen in years."
                ),
            },
            {
                "type": "paragraph",
                "text": (
                    "The compromise came after Councillor Ana Duarte proposed delaying the "
                    "replacement of two fire engines by a year. That change freed enough money "
                    "to keep the public pool open through the summer. Fire Chief Robert Hale "
                    "said the department could manage, but warned that the delay could not be "
                    "repeated."
                ),
            },
            {"type": "heading", "text": "Where the money goes", "level": 2},
            {
                "type": "list",
                "items": [
                    "Road and bridge repairs: 11.4 million dollars",
                    "Police and fire services: 14.9 million dollars",
                    "Parks, pool and library: 5.2 million dollars",
                    "Flood defences along the river: 3.8 million dollars",
                ],
                "ordered": True,
            },
            {
                "type": "quote",
                "text": (
                    "Nobody got everything they wanted tonight, which is usually a sign "
                    "that we found something close to fair."
                ),
                "cite": "Mayor Lorraine Whitfield",
            },
            {
                "type": "paragraph",
                "text": (
                    "The four councillors who voted against the budget argued that the tax "
                    "increase should have been paired with cuts to administrative spending. "
                    "Councillor Greg Parr said he would bring a motion next month to review "
                    "the town's consultancy contracts. The new tax rates take effect on the "
                    "first of January."
                ),
            },
        ],
    },
    {
        "slug": "riverside-criterium-draws-record-field",
        "title": "Record field of 180 riders races through downtown in Riverside Criterium",
        "summary": (
            "Local rider Jess Moreno won the women's race in a sprint finish on Main Street, "
            "while a late breakaway decided the men's event."
        ),
        "section": "sport",
        "tags": ["cycling", "criterium", "main-street"],
        "authors": [{"name": "Sam Adeyemi"}],
        "language": "en",
        "body": [
            {
                "type": "paragraph",
                "text": (
                    "A record 180 riders lined up for the ninth Riverside Criterium on Sunday, "
                    "racing lap after lap around a 1.2-kilometre circuit through the town "
                    "centre. Thousands of spectators packed the barriers on Main Street and "
                    "Bridge Road. Organisers said the event had nearly doubled in size since "
                    "it began."
                ),
            },
            {
                "type": "paragraph",
                "text": (
                    "In the women's race, Riverside's own Jess Moreno timed her sprint "
                    "perfectly, passing two rivals in the final fifty metres. She crossed the "
                    "line with her arms raised in front of her family. It was her first win on "
                    "home roads after two second places in previous years."
                ),
            },
            {
                "type": "image",
                "src": "https://images.example.org/riverside/criterium-final-sprint.jpg",
                "alt": "Three cyclists sprint side by side towards a finish line banner.",
                "caption": "Jess Moreno, centre, launches her sprint in the final metres.",
            },
            {"type": "heading", "text": "A breakaway decides the men's race", "level": 3},
            {
                "type": "paragraph",
                "text": (
                    "The men's race was settled by a four-man breakaway that escaped with ten "
                    "laps remaining. Luca Brandt of the Valley Wheelers held off his companions "
                    "to take the victory. The main bunch finished eight seconds behind."
                ),
            },
            {
                "type": "embed",
                "url": "https://video.example.org/riverside-ledger/criterium-highlights",
            },
            {
                "type": "paragraph",
                "text": (
                    "Main Street reopened to traffic at six in the evening. Organisers thanked "
                    "the more than sixty volunteers who marshalled the course. Next year's race "
                    "is already scheduled for the second Sunday in June."
                ),
            },
        ],
    },
    {
        "slug": "baeckerei-sonnenkorn-nach-hochwasser-wiedereroeffnet",
        "title": "Bäckerei Sonnenkorn öffnet drei Monate nach dem Hochwasser wieder",
        "section": "business",
        "tags": ["hochwasser", "bäckerei", "wirtschaft"],
        "authors": [
            {"name": "Jürgen Weiß", "url": "https://riverside-ledger.example.org/staff/weiss"}
        ],
        "language": "de",
        "image": {
            "src": "https://images.example.org/riverside/baeckerei-sonnenkorn.jpg",
            "alt": "Eine Bäckerin stellt frische Brote in ein Holzregal hinter der Theke.",
            "caption": "Frische Brötchen um sechs Uhr früh: Die Backstube läuft wieder.",
            "credit": "Foto: Lena Müller / The Riverside Ledger",
        },
        "body": [
            {
                "type": "paragraph",
                "text": (
                    "Drei Monate nachdem das Hochwasser die Backstube in der Uferstraße "
                    "überflutet hatte, duftet es dort wieder nach frischem Brot. Die Bäckerei "
                    "Sonnenkorn öffnete am Montag um sechs Uhr früh, und schon vor dem "
                    "Aufschließen warteten Stammkunden vor der Tür. Bis zum Mittag waren alle "
                    "Brezeln ausverkauft."
                ),
            },
            {
                "type": "paragraph",
                "text": (
                    "Das Wasser hatte im Frühjahr fast einen Meter hoch in der Backstube "
                    "gestanden. Der Ofen, die Teigmaschinen und die gesamten Mehlvorräte "
                    "waren zerstört. Inhaberin Greta Hoffmann schätzt den Schaden auf mehr als "
                    "achtzigtausend Dollar."
                ),
            },
            {"type": "heading", "text": "Hilfe aus der Nachbarschaft", "level": 2},
            {
                "type": "paragraph",
                "text": (
                    "Dass die Bäckerei überhaupt wieder öffnen konnte, verdankt sie vor allem "
                    "ihren Nachbarn. Eine Spendenaktion brachte in wenigen Wochen über "
                    "zweiundvierzigtausend Dollar ein. Freiwillige schleppten Schlamm aus dem "
                    "Keller und strichen die Wände neu."
                ),
            },
            {
                "type": "quote",
                "text": (
                    "Ich hätte nie gedacht, dass so viele Menschen für eine kleine Bäckerei "
                    "ihre Wochenenden opfern. Jetzt backen wir eben für die ganze Straße."
                ),
                "cite": "Greta Hoffmann, Inhaberin",
            },
            {
                "type": "list",
                "items": [
                    "Neuer Etagenofen, eine Handbreit höher aufgestellt",
                    "Mehllager im Obergeschoss statt im Keller",
                    "Wasserdichte Schwelle an der Hintertür",
                ],
                "ordered": False,
            },
            {
                "type": "paragraph",
                "text": (
                    "Zur Wiedereröffnung gibt es die ganze Woche ein „Fluthelfer-Brötchen“ "
                    "mit Kürbiskernen. Der Erlös geht an andere Geschäfte in der Uferstraße, "
                    "die noch nicht wieder öffnen konnten. Die Bäckerei hat dienstags bis "
                    "samstags von sechs bis vierzehn Uhr geöffnet."
                ),
            },
        ],
    },
    {
        "slug": "riverside-high-robotics-team-heads-to-nationals",
        "title": "Riverside High robotics team qualifies for national championship",
        "section": "education",
        "tags": ["schools", "robotics", "stem"],
        "authors": [{"name": "Priya Natarajan"}],
        "language": "en",
        "body": [
            {
                "type": "paragraph",
                "text": (
                    "The Riverside High School robotics team, the Gearheads, has qualified for "
                    "the national championship for the first time in the school's history. The "
                    "twelve students won the regional final in Millbrook on Saturday with a "
                    "robot that stacks crates faster than any other machine in the "
                    "competition. The team started only three years ago in a borrowed "
                    "science lab."
                ),
            },
            {
                "type": "paragraph",
                "text": (
                    "Their robot, nicknamed Otter, was designed and built over ten weeks of "
                    "evenings and weekends. Students wrote all of its software themselves, "
                    "including a camera system that lets it find crates without help from "
                    "the driver. Judges also gave the team an award for its engineering "
                    "notebook."
                ),
            },
            {
                "type": "image",
                "src": "https://images.example.org/riverside/gearheads-robot-otter.jpg",
                "alt": "Students in matching green shirts gather around a small wheeled robot.",
                "caption": "The Gearheads with Otter after the regional final in Millbrook.",
            },
            {"type": "heading", "text": "The road to nationals", "level": 2},
            {
                "type": "list",
                "items": [
                    "Raise 9,000 dollars for travel and entry fees by March",
                    "Rebuild the lifting arm with lighter aluminium parts",
                    "Run practice matches against teams from neighbouring schools",
                ],
                "ordered": True,
            },
            {
                "type": "quote",
                "text": (
                    "Half of them had never held a soldering iron when they joined. Now they "
                    "are teaching me things."
                ),
                "cite": "Carlos Vega, physics teacher and team mentor",
            },
            {
                "type": "paragraph",
                "text": (
                    "The national championship takes place in April. The team will hold a "
                    "car wash and a bake sale at the school over the next two weekends to "
                    "raise money for the trip. Local businesses interested in sponsoring the "
                    "team can contact the school office."
                ),
            },
        ],
    },
    {
        "slug": "storm-season-what-riverside-residents-should-know",
        "title": "Storm season is here: what Riverside residents should know",
        "summary": (
            "Forecasters expect an active autumn storm season. Here is how the town prepares, "
            "where sandbags are available and how to receive flood warnings."
        ),
        "section": "weather",
        "tags": ["storms", "flooding", "safety", "weather"],
        "authors": [
            {"name": "Elena Brooks", "url": "https://riverside-ledger.example.org/staff/brooks"}
        ],
        "language": "en",
        "body": [
            {
                "type": "paragraph",
                "text": (
                    "Forecasters at the regional weather service expect an unusually active "
                    "storm season this autumn. Warmer sea temperatures are likely to bring "
                    "heavier rainfall to the river valley between October and December. After "
                    "the spring flood, town officials say they are taking no chances."
                ),
            },
            {"type": "heading", "text": "How to prepare your home", "level": 2},
            {
                "type": "list",
                "items": [
                    "Clear gutters and drains of leaves before the first storm",
                    "Move valuables and documents above the ground floor",
                    "Keep a torch, batteries, water and medicines in one place",
                    "Know the route to your nearest evacuation point",
                ],
                "ordered": True,
            },
            {"type": "heading", "text": "Sandbags and warnings", "level": 3},
            {
                "type": "paragraph",
                "text": (
                    "Free sandbags are available at the public works depot on Quarry Lane every "
                    "weekday from seven to five. Residents can sign up for text message flood "
                    "warnings on the town website. The river gauge at Mill Bridge is now "
                    "updated every fifteen minutes."
                ),
            },
            {"type": "embed", "url": "https://maps.example.org/riverside/flood-zones"},
            {
                "type": "quote",
                "text": (
                    "The river always gives us a little warning. Our job is to make sure "
                    "everyone hears it in time."
                ),
                "cite": "Marcus Bell, emergency management coordinator",
            },
            {
                "type": "paragraph",
                "text": (
                    "The town will test its outdoor warning sirens at noon on the first Monday "
                    "of every month until the end of the season. Officials ask residents not to "
                    "call emergency services during the tests. Anyone who cannot hear the "
                    "sirens from their home is encouraged to register for the text alerts."
                ),
            },
        ],
    },
]
