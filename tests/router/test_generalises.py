"""Triage on SMS written for these tests only (in none of the corpus or lexicon files): paraphrases without
the textbook word, incidental words that name another category, questions, thanks, jokes and news that are
not emergencies, six languages and a few guest languages. The route is the topic, else the category."""

from __future__ import annotations

import pytest

from evy.router import triage

# text, language, emergency, the routes that fit (topic, or the category when unsure)
REPORTS = [
    # paraphrase: the danger described, not named
    ("grandad slumped over at lunch, hes gone grey and i cant feel him breathing", "en", {"cpr"}),
    ("the cloth is soaked red already and it keeps coming out of his thigh", "en", {"bleeding"}),
    ("wind just ripped half our roof off and the sky is black, kids under the bed", "en", {"storm"}),
    ("my neighbour fell off the roof onto his back and says his legs feel dead", "en", {"spinal_injury"}),
    ("mi papa se puso gris en la mesa y no le siento la respiracion", "es", {"cpr"}),
    ("el carro se lo llevo la corriente del rio con mi tio adentro", "es", {"vehicle_in_water", "flood"}),
    ("mon oncle a la bouche qui tombe d'un cote et il n'arrive plus a parler", "fr", {"stroke"}),
    ("la colline au-dessus des maisons glisse, les rochers descendent", "fr", {"landslide"}),
    ("o bebe ta com febre alta e comecou a tremer todo duro", "pt", {"febrile_seizure", "seizure"}),
    ("meu avo ta com o peito apertado e suando frio faz meia hora", "pt", {"heart_attack"}),
    ("mzee ameanguka shambani, hapumui na midomo ni ya kijivu", "sw", {"cpr"}),
    ("moto umeshika nyumba ya jirani na watoto bado wako ndani", "sw", {"fire"}),
    ("maji yanapanda haraka, tuko juu ya paa na watoto wadogo", "sw", {"flood"}),
    ("anmwe, ti gason an tonbe nan rivye a, nou rale l li pa respire", "ht", {"drowning", "cpr"}),
    ("kay vwazen an pran dife, gen timoun ki toujou anndan", "ht", {"fire"}),
    ("gen yon gwo sant gaz nan kay la, bonbon an ap koule", "ht", {"gas_leak"}),
    # incidental words that name another category
    ("my little girl is burning up with fever and wont eat", "en", {"medical"}),
    ("he strangled me last night and says he will do it again, i am in the bathroom", "en",
     {"domestic_violence", "violence"}),
    ("my son touched the cable by the water pump and fell, hes not moving", "en", {"electric_shock"}),
    ("mi hija esta ardiendo en fiebre desde anoche", "es", {"medical"}),
    # other languages: the words that travel, answered in the closest supported language
    ("aiuto c'e un incendio in casa nostra", "es", {"fire"}),
    ("tolong ada banjir besar air naik terus", "en", {"flood"}),
]

CALM = [
    ("thanks a lot, my mum is fine now", "en"),
    ("how should we get ready before the rainy season floods", "en"),
    ("saw on the news there was a big earthquake in another country, so sad", "en"),
    ("lol my phone bill is killing me", "en"),
    ("when is the food delivery at the camp", "en"),
    ("muchas gracias por todo, ya estamos bien", "es"),
    ("que hay que tener listo en caso de un huracan", "es"),
    ("merci pour votre aide, tout va bien maintenant", "fr"),
    ("quels sont les signes d'un glissement de terrain", "fr"),
    ("valeu pela ajuda, ja ta tudo bem", "pt"),
    ("asante sana kwa msaada wenu", "sw"),
    ("tujiandae vipi kwa mafuriko mwaka huu", "sw"),
    ("mesi anpil pou ed la, tout moun byen", "ht"),
    ("kijan pou n prepare pou sezon siklon an", "ht"),
]


@pytest.mark.parametrize(("text", "language", "routes"), REPORTS)
def test_a_report_is_an_emergency_on_its_protocol_or_its_category(text, language, routes):
    result = triage(text)
    assert result.emergency
    assert (result.topic or result.category) in routes
    assert result.language == language


@pytest.mark.parametrize(("text", "language"), CALM)
def test_thanks_questions_jokes_and_news_are_no_emergency(text, language):
    result = triage(text)
    assert not result.emergency
    assert result.language == language


def test_unsure_of_the_protocol_names_only_the_category():
    result = triage("my brother got hurt badly at work, please come")
    assert result.emergency and result.topic is None and result.category == "medical"
    assert result.confidence < 0.9


def test_sure_of_the_protocol_says_so():
    result = triage("he is not breathing and has no pulse")
    assert result.topic == "cpr" and result.confidence >= 0.9


def test_a_bare_call_for_help_names_no_category():
    for text in ("au secours svp", "msaada tafadhali", "anmwe souple"):
        result = triage(text)
        assert result.emergency and result.category == "other" and result.topic is None, text


def test_shorthand_is_read_in_the_message_language():
    # Portuguese writes "n" for "nao"; Creole's "n ap" (we are) must stay Creole.
    assert triage("n ap mouri grangou, pa gen manje").language == "ht"
    assert triage("n consigo respirar direito").language == "pt"
