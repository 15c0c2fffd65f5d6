"""Look-alike conditions: a message can be routed to the protocol of a condition it looks like (a confused,
sweating diabetic reads like a stroke), so every text must be safe for the conditions it is mistaken for."""

from __future__ import annotations

import pytest

from evy.protocols import contraindications, keys, lookup, mistaken_for, must_be_safe_for, paths, stands_in_for, step
from evy.protocols.library import LOOK_ALIKES, MIMICS

SHIPPED = ("en", "es", "fr", "pt", "sw", "ht")
# The pairs the field review found, and the first-aid look-alikes every triage must keep apart.
REQUIRED_PAIRS = [
    ("stroke", "low_blood_sugar"), ("seizure", "low_blood_sugar"), ("seizure", "febrile_seizure"),
    ("heart_attack", "mental_health"), ("fracture", "spinal_injury"), ("drowning", "hypothermia"),
    ("heat_stroke", "heat_exhaustion"), ("heat_exhaustion", "dehydration"), ("fire", "pan_fire"),
    ("fire", "wildfire"), ("pan_fire", "burns"), ("flood", "vehicle_in_water"), ("flood", "tsunami"),
    ("poisoning", "carbon_monoxide"), ("poisoning", "allergic_reaction"), ("electric_shock", "storm"),
    ("violence", "domestic_violence"), ("missing_person", "lost_child"), ("earthquake", "gas_leak"),
    ("bleeding", "snake_bite"),
]


def test_look_alikes_are_symmetric_known_protocols_and_cover_the_field_review():
    known = set(keys("en"))
    assert {key for group in LOOK_ALIKES for key in group} <= known
    for key, others in MIMICS.items():
        assert key not in others, key
        for other in others:
            assert key in MIMICS[other], (key, other)
    for one, other in REQUIRED_PAIRS:
        assert other in mistaken_for(one) and one in mistaken_for(other), (one, other)


def test_a_fallback_must_be_safe_for_the_look_alikes_of_what_it_stands_in_for():
    assert set(must_be_safe_for("earthquake")) >= {"earthquake", "landslide", "tsunami", "trapped", "gas_leak"}
    assert "snake_bite" in must_be_safe_for("bleeding") and "bleeding" in must_be_safe_for("bleeding")
    assert set(stands_in_for("fire")) <= set(must_be_safe_for("fire"))
    assert mistaken_for("general") == ()


@pytest.mark.parametrize("language", SHIPPED)
def test_every_text_passes_the_contraindications_of_every_look_alike(language):
    broken = [(key, path, hit) for key in keys(language) for path in paths(key, language)
              for hit in contraindications(step(key, path, language, "+254700123456").text, language,
                                           must_be_safe_for(key))]
    assert broken == []


# (language, the condition it really is, advice another protocol's text might give): caught. The first lines
# of each group are the texts that failed this check before they were rewritten.
DANGEROUS_FOR_THE_LOOK_ALIKE = [
    ("en", "low_blood_sugar", "3. Nothing to eat or drink: swallowing may be affected. No aspirin."),
    ("en", "low_blood_sugar", "Nothing by mouth until the ambulance comes."),
    ("en", "low_blood_sugar", "Keep them resting, head slightly raised. Nothing by mouth."),
    ("es", "low_blood_sugar", "Nada de comer ni beber: puede atragantarse."),
    ("es", "low_blood_sugar", "Nada por boca hasta que llegue la ambulancia."),
    ("fr", "low_blood_sugar", "Ni boire ni manger : il peut s'étouffer."),
    ("fr", "low_blood_sugar", "Rien par la bouche en attendant les secours."),
    ("pt", "low_blood_sugar", "Nada pela boca até a ambulância chegar."),
    ("sw", "low_blood_sugar", "Asile wala asinywe mpaka msaada ufike."),
    ("ht", "low_blood_sugar", "Pa ba l manje ni bwè: li ka toufe."),
    ("ht", "low_blood_sugar", "Anyen nan bouch jiskaske èd rive."),
    ("en", "snake_bite", "Arm or leg still spurting: tourniquet 5-8 cm above the wound (belt, stick twisted tight)."),
    ("en", "snake_bite", "Tie a tourniquet above the bite."),
    ("es", "snake_bite", "Ponga un torniquete encima de la mordedura."),
    ("fr", "snake_bite", "Posez un garrot au-dessus de la morsure."),
    ("pt", "snake_bite", "Faça um torniquete acima da picada."),
    ("sw", "snake_bite", "Funga kamba juu ya jeraha."),
    ("ht", "snake_bite", "Mare yon garo anwo mòde a."),
    ("es", "gas_leak", "Dentro, quédese dentro, lejos de ventanas."),
    ("en", "gas_leak", "Stay inside until help arrives."),
    ("fr", "gas_leak", "Restez à l'intérieur en attendant les secours."),
    ("pt", "gas_leak", "Fique dentro de casa."),
    ("sw", "gas_leak", "Baki ndani ya nyumba."),
    ("ht", "gas_leak", "Rete anndan kay la."),
    ("en", "burns", "Rub oil on the burn."),
    ("es", "burns", "Ponga aceite en la quemadura."),
    ("pt", "burns", "Passe óleo na queimadura."),
    ("sw", "burns", "Paka mafuta kwenye jeraha."),
    ("ht", "burns", "Mete lwil sou boule a."),
    ("ht", "pan_fire", "Mete dlo sou chodyè a."),
    ("en", "seizure", "Put sugar in her mouth while she is shaking."),
    ("en", "febrile_seizure", "Place a spoon in his mouth."),
    ("en", "dehydration", "Drowsy or unresponsive: nothing by mouth, on their side."),
    ("en", "dehydration", "Nothing to drink while awake."),
    ("es", "cpr", "Dele agua cuando despierte."),
    ("pt", "cpr", "Dê água para ele beber."),
    ("pt", "stroke", "Ofereça chá ou água."),
    ("pt", "tsunami", "Vá para a praia ver o mar."),
    ("en", "domestic_violence", "Tell him you are calling the police."),
    ("en", "violence", "Open the door to see what is happening."),
    ("en", "spinal_injury", "Help him up and splint the arm."),
    ("en", "hypothermia", "Rub his arms and legs to warm him."),
    ("en", "electric_shock", "Pull her away from the line with your hands."),
    ("en", "carbon_monoxide", "Stay inside and wait for help."),
    ("en", "lost_child", "Take the child home with you."),
    ("en", "mental_health", "Calm down, it is only panic."),
    ("en", "heart_attack", "Walk it off, it is only panic."),
]

# Advice safe for both conditions (the rewritten wording, the neighbour's own words), and the dangerous
# advice above negated: passes.
SAFE_FOR_THE_LOOK_ALIKE = [
    ("en", "low_blood_sugar", "3. Nothing by mouth unless diabetic, fully awake and able to swallow: then give sugar."),
    ("en", "low_blood_sugar", "Give nothing by mouth while they are not awake."),
    ("es", "low_blood_sugar", "Nada por boca salvo si es diabético y puede tragar: entonces azúcar."),
    ("fr", "low_blood_sugar", "Rien par la bouche, sauf s'il est diabétique et peut avaler : alors du sucre."),
    ("pt", "low_blood_sugar", "Nada pela boca, exceto se for diabético e conseguir engolir: então açúcar."),
    ("sw", "low_blood_sugar", "Asile wala asinywe, isipokuwa ana kisukari na anaweza kumeza: basi mpe sukari."),
    ("ht", "low_blood_sugar", "Anyen nan bouch, sòf si li dyabetik epi li ka vale: lè sa a ba l sik."),
    ("ht", "low_blood_sugar", "Pa mete anyen nan bouch li, pa kenbe l fò."),
    ("en", "snake_bite", "Arm or leg: tourniquet above the wound (not for a snake bite), tighten until it stops."),
    ("en", "snake_bite", "Do not use a tourniquet."),
    ("es", "snake_bite", "Brazo o pierna: torniquete encima (no para una mordedura de serpiente), apriete."),
    ("fr", "snake_bite", "Bras ou jambe : garrot au-dessus (pas pour une morsure de serpent), serrez."),
    ("pt", "snake_bite", "Braço ou perna: torniquete acima (não para picada de cobra), aperte."),
    ("sw", "snake_bite", "Funga kamba juu ya jeraha, si kwa kuumwa na nyoka."),
    ("ht", "snake_bite", "Mare yon garo anwo blese a, pa pou mòde koulèv."),
    ("en", "gas_leak", "Indoors: stay inside until the shaking stops, away from windows."),
    ("es", "gas_leak", "Dentro, quédese dentro hasta que pare el temblor, lejos de ventanas."),
    ("fr", "gas_leak", "Dedans, restez dedans jusqu'à la fin des secousses."),
    ("pt", "gas_leak", "Dentro, fique dentro até o tremor parar, longe de janelas."),
    ("sw", "gas_leak", "Ukiwa ndani baki ndani mpaka mtikisiko ukome, mbali na madirisha."),
    ("ht", "gas_leak", "Anndan, rete anndan jiskaske tranbleman an sispann, lwen fenèt."),
    ("en", "gas_leak", "Smell gas: get out, no switches or flames."),
    ("en", "burns", "Pan of oil or fat on fire: NEVER use water, it explodes."),
    ("es", "burns", "Sartén con aceite en llamas: NUNCA eche agua, explota."),
    ("pt", "burns", "Panela com óleo pegando fogo: NUNCA use água, explode."),
    ("sw", "burns", "Sufuria ya mafuta inawaka moto: KAMWE usitumie maji, italipuka."),
    ("ht", "burns", "Chodyè lwil pran dife: PA JANM mete dlo, li eksploze."),
    ("ht", "pan_fire", "Refwadi l anba dlo fre k ap koule pandan 20 minit."),
    ("en", "seizure", "Drowsy: on their side, put nothing in the mouth."),
    ("en", "dehydration", "Nothing by mouth until awake."),
    ("es", "cpr", "Fuera del agua: de lado, abrigado."),
    ("pt", "cpr", "Fique longe de fios e água eletrificada."),
    ("pt", "stroke", "Ligue se houver gravidez, estiver na água, ou não acordar."),
    ("pt", "tsunami", "Saia, suba no teto e vá para a margem."),
    ("en", "domestic_violence", "Do not tell him you are calling anyone."),
    ("en", "carbon_monoxide", "Do not stay inside."),
    ("en", "lost_child", "Never take the child home with you."),
]


@pytest.mark.parametrize(("language", "key", "advice"), DANGEROUS_FOR_THE_LOOK_ALIKE)
def test_advice_dangerous_for_the_look_alike_is_caught(language, key, advice):
    assert contraindications(advice, language, (key,)), (language, key, advice)


@pytest.mark.parametrize(("language", "key", "advice"), SAFE_FOR_THE_LOOK_ALIKE)
def test_advice_safe_for_both_conditions_passes(language, key, advice):
    assert contraindications(advice, language, (key,)) == [], (language, key, advice)


@pytest.mark.parametrize("language", SHIPPED)
def test_a_stroke_text_lets_a_diabetic_with_low_sugar_have_sugar_and_a_quake_text_says_leave_for_gas(language):
    sugar = {"en": "sugar", "es": "azúcar", "fr": "sucre", "pt": "açúcar", "sw": "sukari", "ht": "sik"}
    gas = {"en": "gas", "es": "gas", "fr": "gaz", "pt": "gás", "sw": "gesi", "ht": "gaz"}
    assert sugar[language] in lookup("stroke", language, "112").text
    assert sugar[language] in step("stroke", ("awake",), language, "112").text
    assert gas[language] in lookup("earthquake", language, "112").text
