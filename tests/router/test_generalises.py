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


# A second batch, written after the first was passing and measured once before any change for it
# (recognised 0.947, protocol or its category's fallback 0.737, 1 false alarm of 16): text, emergency,
# the protocol that fits (its category's fallback also fits).
SECOND = [
 ("my wife collapsed in the yard, eyes open but not breathing at all", True, "cpr"),
 ("a fish bone is stuck and he is gagging, cant get air", True, "choking"),
 ("the knife went deep into his hand and blood wont stop even with pressure", True, "bleeding"),
 ("toddler grabbed the kettle, hot water all over his chest, skin is red and peeling", True, "burns"),
 ("guy passed out at the bus stop, hes breathing but we cant wake him", True, "medical"),
 ("smoke alarm going off, the whole upstairs is full of smoke and dad is up there", True, "fire"),
 ("the dam upstream broke, water is coming down the street fast", True, "flood"),
 ("men with machetes attacking houses in our lane right now", True, "violence"),
 ("generator running in the kitchen all night, now the kids wont wake properly and vomited", True, "carbon_monoxide"),
 ("we cant find our 4 year old at the relief camp, he was here 10 min ago", True, "lost_child"),
 ("thanks for the advice yesterday, everyone is safe", False, None),
 ("what should go in a first aid kit", False, None),
 ("mi abuelo se agarra el pecho y dice que le duele hasta la mandibula", True, "heart_attack"),
 ("el niño tomo veneno para ratas que estaba en la cocina", True, "poisoning"),
 ("hay olor a gas en el pasillo y se oye un silbido", True, "gas_leak"),
 ("la casa de al lado se derrumbo con el temblor y hay gente abajo", True, "trapped"),
 ("una mujer esta pariendo en el albergue, ya se ve la cabeza", True, "childbirth"),
 ("el viento arranco los arboles y cayo uno sobre un carro con gente", True, "storm"),
 ("gracias, ya llego la ambulancia", False, None),
 ("donde puedo conseguir pastillas para purificar agua", False, None),
 ("mon fils a été mordu par un serpent au mollet, ça gonfle", True, "snake_bite"),
 ("ma voisine est diabetique, elle transpire, tremble et dit des choses bizarres", True, "low_blood_sugar"),
 ("un homme armé tire dans la rue, on est enfermés dans la boutique", True, "violence"),
 ("la mer s'est retirée d'un coup apres la secousse", True, "tsunami"),
 ("mon pere est tombé de l'echelle, il dit qu'il sent plus ses jambes", True, "spinal_injury"),
 ("le feu a pris dans la poele, il y a des flammes partout sur la cuisiniere", True, "pan_fire"),
 ("bonjour, a quelle heure ouvre le centre de distribution demain", False, None),
 ("on a vu a la tele l'ouragan aux Antilles, c'est terrible", False, None),
 ("meu filho engoliu uma bala e ta ficando roxo", True, "choking"),
 ("a parede do morro desceu em cima da casa do vizinho", True, "landslide"),
 ("minha irma ta com convulsao e muita febre", True, "febrile_seizure"),
 ("o carro caiu no rio com duas pessoas dentro", True, "vehicle_in_water"),
 ("obrigado, meu pai ja foi atendido", False, None),
 ("o que fazer se começar um incendio na mata perto de casa", False, None),
 ("mtoto amemeza sarafu na anashindwa kupumua", True, "choking"),
 ("nyumba yetu imeanguka kwa tetemeko, mama amebanwa chini", True, "trapped"),
 ("nimeumwa na nyoka mguuni nikiwa shambani", True, "snake_bite"),
 ("kuna wanaume wenye bunduki wanapiga risasi sokoni", True, "violence"),
 ("mtoto ana kuhara na kutapika tangu jana, ni dhaifu sana", True, "dehydration"),
 ("asante, tumefika kambini salama", False, None),
 ("kituo cha kugawa chakula kitafunguliwa lini", False, None),
 ("tafadhali nieleze jinsi ya kusafisha maji ya kisima", False, None),
 ("manman m tonbe, li pa pale, yon bo figi l tonbe", True, "stroke"),
 ("pitit mwen an bwe kloroks, l ap vomi", True, "poisoning"),
 ("gen dlo k ap monte nan kay la, nou sou twati a ak timoun yo", True, "flood"),
 ("yon nonm ap bat madanm li nan lakou a, li gen yon kouto", True, "violence"),
 ("kouran pran yon timoun bo pye poto a, li pa bouje", True, "electric_shock"),
 ("mesi pou mesaj la, nou tout byen", False, None),
 ("ki kote yo ap bay manje jodi a", False, None),
 ("eske dlo lapli a bon pou bwe", False, None),
 ("hilfe, unser haus brennt", True, "fire"),
 ("tolong, anak saya tenggelam di sungai", True, "drowning"),
 ("lol i almost died laughing at that video", False, None),
 ("my exam tomorrow is going to kill me", False, None),
]


@pytest.mark.parametrize(("text", "emergency", "protocol"), SECOND)
def test_second_batch(text, emergency, protocol):
    from evy.protocols import library

    result = triage(text)
    assert result.emergency == emergency
    if emergency:
        route = result.topic or result.category
        assert route == protocol or (protocol in library.stands_in_for(route)
                                     and route not in library.UNIVERSAL_FALLBACKS)
