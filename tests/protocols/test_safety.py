"""The contraindication check catches dangerous advice, in every language, and forgives it negated."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evy.protocols import contraindications
from evy.protocols.safety import fold

# (language, protocol, advice that must never go out for it), including model follow-ups seen in the field.
DANGEROUS = [
    ("en", "heat_stroke", "Keep them warm and give nothing to eat or drink."),
    ("en", "dehydration", "Keep them warm, nothing to eat or drink."),
    ("en", "low_blood_sugar", "Nothing to eat or drink until help comes."),
    ("en", "pan_fire", "Pour water on the pan to put it out."),
    ("en", "electric_shock", "Pull him away from the wire with your hands."),
    ("en", "poisoning", "Make them vomit as soon as possible."),
    ("en", "spinal_injury", "Help him up and walk him to the car."),
    ("en", "hypothermia", "Give him a shot of brandy and rub his hands."),
    ("en", "burns", "Put ice or butter on the burn."),
    ("en", "snake_bite", "Cut the bite and suck out the venom."),
    ("en", "carbon_monoxide", "Don't run generators indoors unless the doors are open."),
    ("en", "carbon_monoxide", "Stay inside and open the windows."),
    ("en", "gas_leak", "Turn on the lights to find the leak."),
    ("en", "gas_leak", "Call the gas company from inside the house."),
    ("en", "vehicle_in_water", "Wait for the car to fill with water before opening the door."),
    ("en", "tsunami", "Go down to the beach to watch the waves."),
    ("en", "earthquake", "Go back inside after the aftershock."),
    ("en", "wildfire", "Wait to pack your valuables before leaving."),
    ("en", "stroke", "Give them an aspirin and let them sleep it off."),
    ("en", "heart_attack", "Try to walk it off."),
    ("en", "mental_health", "Give them space and leave them alone."),
    ("en", "seizure", "Hold him down and put a spoon in his mouth."),
    ("en", "febrile_seizure", "Put the child in a cold bath."),
    ("en", "choking", "Sweep your finger in the throat."),
    ("en", "drowning", "Press on the stomach to drain the water."),
    ("en", "allergic_reaction", "Stand them up and walk around."),
    ("en", "fire", "Go back inside to get your things."),
    ("en", "flood", "Drive through the flood water slowly."),
    ("en", "landslide", "Run downhill away from the slide."),
    ("en", "lost_child", "Wait 24 hours before telling the police."),
    ("en", "domestic_violence", "Confront him about it."),
    ("en", "bleeding", "Remove the tourniquet after 10 minutes."),
    ("en", "childbirth", "Pull the baby out gently."),
    ("en", "cpr", "Stop CPR every minute to check for a pulse."),
    ("en", "diabetic", "Give him more insulin."),
    ("en", "heat_exhaustion", "Wrap them in a blanket."),
    ("en", "storm", "Shelter under a tree."),
    ("en", "violence", "Open the door to see what is happening."),
    ("en", "hazmat", "Walk towards the smoke to see."),
    ("en", "trapped", "Light a match to see."),
    ("en", "water_food", "Ration the water, drink only a little."),
    ("en", "food_distribution", "You must pay a fee to get the food."),
    ("en", "missing_person", "Wait 48 hours before reporting."),
    ("en", "shelter", "Sleep under the bridge."),
    ("en", "fracture", "Straighten the leg before splinting."),
    ("en", "medical", "Keep them warm."),
    ("es", "heat_stroke", "Abríguelo con una manta."),
    ("es", "dehydration", "No le dé nada de comer ni beber."),
    ("es", "pan_fire", "Eche agua a la sartén."),
    ("es", "poisoning", "Hágale vomitar."),
    ("es", "carbon_monoxide", "No use el generador dentro salvo con las ventanas abiertas."),
    ("es", "snake_bite", "Corte la herida y chupe el veneno."),
    ("es", "tsunami", "Vaya a la playa a mirar el mar."),
    ("es", "electric_shock", "Toque a la persona para separarla del cable."),
    ("fr", "heat_stroke", "Couvrez-le avec une couverture."),
    ("fr", "dehydration", "Ne lui donnez rien à boire."),
    ("fr", "pan_fire", "Jetez de l'eau sur la casserole."),
    ("fr", "poisoning", "Faites-le vomir."),
    ("fr", "carbon_monoxide", "N'utilisez pas le groupe électrogène dedans sauf si les fenêtres sont ouvertes."),
    ("fr", "burns", "Mettez de la glace sur la brûlure."),
    ("fr", "tsunami", "Allez sur la plage regarder la mer."),
    ("pt", "heat_stroke", "Cubra-o com um cobertor."),
    ("pt", "dehydration", "Não dê nada para comer ou beber."),
    ("pt", "pan_fire", "Jogue água na panela."),
    ("pt", "poisoning", "Faça a pessoa vomitar."),
    ("pt", "carbon_monoxide", "Não use o gerador dentro de casa a menos que as janelas estejam abertas."),
    ("pt", "vehicle_in_water", "Espere o carro encher de água para abrir a porta."),
    ("pt", "snake_bite", "Corte e chupe o veneno."),
    ("sw", "heat_stroke", "Mfunike na blanketi."),
    ("sw", "dehydration", "Usimpe chakula wala kinywaji."),
    ("sw", "pan_fire", "Mwaga maji kwenye sufuria."),
    ("sw", "poisoning", "Mfanye atapike."),
    ("sw", "snake_bite", "Kata jeraha na unyonye sumu."),
    ("sw", "carbon_monoxide", "Usitumie jenereta ndani isipokuwa madirisha yakiwa wazi."),
    ("sw", "tsunami", "Nenda ufukweni kuangalia bahari."),
    ("ht", "heat_stroke", "Kouvri li ak yon dra cho."),
    ("ht", "dehydration", "Pa ba li anyen pou li manje ni bwe."),
    ("ht", "pan_fire", "Jete dlo sou chodyè a."),
    ("ht", "poisoning", "Fè li vomi."),
    ("ht", "snake_bite", "Koupe mòde a epi souse pwazon an."),
    ("ht", "carbon_monoxide", "Pa sèvi ak jeneratè anndan kay la sof si fenèt yo louvri."),
    ("ht", "tsunami", "Ale bò lanmè a pou gade vag yo."),
    ("es", "electric_shock", "Agarre a la persona y sepárela del cable mientras hay corriente."),
    ("es", "spinal_injury", "Siéntelo y ayúdelo a caminar."),
    ("es", "hypothermia", "Dele un trago de aguardiente y frótele los brazos."),
    ("es", "burns", "Ponga hielo o mantequilla en la quemadura."),
    ("es", "gas_leak", "Encienda la luz para buscar la fuga."),
    ("es", "vehicle_in_water", "Espere a que el coche se llene de agua para abrir la puerta."),
    ("es", "earthquake", "Vuelva a entrar en casa después de la réplica."),
    ("es", "wildfire", "Espere a empacar sus cosas antes de salir."),
    ("es", "domestic_violence", "Enfréntelo y dígale que se va."),
    ("es", "low_blood_sugar", "No le dé azúcar ni comida."),
    ("es", "mental_health", "Déjelo solo, necesita espacio."),
    ("es", "lost_child", "Espere 24 horas antes de avisar."),
    ("fr", "electric_shock", "Touchez la personne pour l'écarter du câble pendant que le courant passe."),
    ("fr", "spinal_injury", "Asseyez-le et aidez-le à marcher."),
    ("fr", "hypothermia", "Donnez-lui un verre de rhum et frictionnez-lui les bras."),
    ("fr", "gas_leak", "Allumez la lumière pour trouver la fuite."),
    ("fr", "vehicle_in_water", "Attendez que la voiture se remplisse pour ouvrir la portière."),
    ("fr", "earthquake", "Rentrez à l'intérieur après la réplique."),
    ("fr", "wildfire", "Attendez d'avoir fait vos bagages."),
    ("fr", "domestic_violence", "Confrontez-le ce soir."),
    ("fr", "low_blood_sugar", "Ne lui donnez rien à manger."),
    ("fr", "snake_bite", "Incisez la morsure et aspirez le venin."),
    ("fr", "mental_health", "Laissez-le seul, il fait ça pour attirer l'attention."),
    ("pt", "electric_shock", "Puxe a pessoa do fio enquanto ainda tem energia."),
    ("pt", "spinal_injury", "Ajude a levantar a pessoa e carregue ele."),
    ("pt", "hypothermia", "Dê cachaça e esfregue os braços."),
    ("pt", "burns", "Passe manteiga ou pasta de dente na queimadura."),
    ("pt", "gas_leak", "Acenda a luz para achar o vazamento."),
    ("pt", "earthquake", "Volte para dentro depois da réplica."),
    ("pt", "wildfire", "Espere para arrumar as malas antes de sair."),
    ("pt", "tsunami", "Vá para a praia olhar o mar."),
    ("pt", "domestic_violence", "Enfrente ele hoje."),
    ("pt", "low_blood_sugar", "Não dê açúcar nem comida."),
    ("sw", "electric_shock", "Mshike na umvute kutoka kwenye waya umeme ukiwa bado unawaka."),
    ("sw", "spinal_injury", "Mkalishe na msaidie kutembea."),
    ("sw", "hypothermia", "Mpe pombe na umsugue mikono."),
    ("sw", "burns", "Weka barafu au siagi kwenye jeraha."),
    ("sw", "gas_leak", "Washa taa utafute uvujaji."),
    ("sw", "vehicle_in_water", "Subiri gari lijae maji ndipo ufungue mlango."),
    ("sw", "earthquake", "Rudi ndani baada ya mtetemeko."),
    ("sw", "wildfire", "Subiri kufunga mizigo yako kwanza."),
    ("sw", "domestic_violence", "Mkabili leo usiku."),
    ("sw", "low_blood_sugar", "Usimpe sukari wala chakula."),
    ("sw", "mental_health", "Mwache peke yake, atatulia."),
    ("ht", "electric_shock", "Rale l sou fil la pandan kouran an toujou la."),
    ("ht", "spinal_injury", "Leve l kanpe epi ede l mache."),
    ("ht", "hypothermia", "Ba l yon ti kleren epi fwote bra l."),
    ("ht", "burns", "Mete glas oswa bè sou boule a."),
    ("ht", "gas_leak", "Limen limyè a pou w chèche gaz la."),
    ("ht", "vehicle_in_water", "Tann machin nan plen dlo anvan w louvri pòt la."),
    ("ht", "earthquake", "Tounen anndan apre sekous la."),
    ("ht", "wildfire", "Tann ou fin ranje bagay ou anvan ou soti."),
    ("ht", "domestic_violence", "Konfwonte l aswè a."),
    ("ht", "low_blood_sugar", "Pa ba l sik ni manje."),
    ("ht", "mental_health", "Kite l pou kont li."),
]

# The same dangers, written negated as a protocol writes them: nothing to object to.
FORGIVEN = [
    ("en", "burns", "No ice, butter or paste."),
    ("en", "carbon_monoxide", "Never run a generator indoors, even with windows open."),
    ("en", "pan_fire", "NEVER use water, it explodes."),
    ("en", "tsunami", "Never go to the shore to look."),
    ("en", "vehicle_in_water", "Do not wait for the car to fill to open a door."),
    ("en", "snake_bite", "Do NOT cut, suck, use a tourniquet or ice."),
    ("es", "burns", "No use hielo ni mantequilla."),
    ("fr", "pan_fire", "Jamais d'eau."),
    ("pt", "poisoning", "Não provoque o vômito."),
    ("sw", "pan_fire", "Usitumie maji kamwe."),
    ("ht", "poisoning", "Pa fè li vomi."),
]


@pytest.mark.parametrize(("language", "key", "advice"), DANGEROUS)
def test_dangerous_advice_is_caught(language, key, advice):
    assert contraindications(advice, language, [key]), f"{language}/{key}: {advice!r} passed"


@pytest.mark.parametrize(("language", "key", "advice"), FORGIVEN)
def test_the_same_danger_negated_passes(language, key, advice):
    assert contraindications(advice, language, [key]) == []


def test_a_negation_does_not_reach_past_unless_and_then():
    assert contraindications("Do not panic, then pour water on the pan.", "en", ["pan_fire"])
    assert contraindications("No, pour water on the pan.", "en", ["pan_fire"])
    assert contraindications("Non, jetez de l'eau sur la casserole.", "fr", ["pan_fire"])
    assert contraindications("Never run it indoors. Stay inside with the windows open.", "en",
                             ["carbon_monoxide"])


def test_fold_is_what_patterns_are_written_for():
    assert fold("Don't put ÍCE on it; l'eau") == "dont put ice on it; l eau"


@given(st.text(max_size=300))
def test_fold_is_idempotent_and_plain(text):
    folded = fold(text)
    assert fold(folded) == folded and folded == folded.lower()


@given(st.text(max_size=300))
def test_the_check_never_fails_on_any_text(text):
    assert isinstance(contraindications(text, "en", ["cpr", "carbon_monoxide", "dehydration"]), list)
