"""Write the small data files that stand in for the corpus programs' downloads.

The corpus programs (``tests/programs/corpus``) read their data from files, as
their authors wrote them: a text corpus, a folder of names per language, a file of
English-French sentence pairs, a JSON-lines file of film dialogue. Those files
are downloads of megabytes; in their place each program's folder holds a few
kilobytes written by this script, in the same format and at the same path, so
the programs' own loading code stays as written. The files are committed; rerun
this script (``python tests/programs/make_data.py``) only to change them. Its
output is deterministic.

Nothing here imports torch, and importing this module writes nothing.
"""

import json
import pathlib
import random

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"

# --------------------------------------------------------------------------------------------
# A word-level text corpus (word_language_model, yunjey_language_model): sentences of a
# small grammar, one per line, so a small LSTM can learn the word order in a few epochs.

DETERMINERS = ["the", "a", "my", "your", "this"]
ADJECTIVES = ["big", "small", "old", "young", "happy", "red", "quiet"]
NOUNS = ["cat", "dog", "bird", "child", "teacher", "farmer", "horse", "girl", "boy", "friend"]
VERBS = ["sees", "likes", "follows", "finds", "helps", "watches", "calls"]
PLACES = ["in the garden", "near the river", "at the school", "on the hill", "in the house"]


def sentence(rng):
    """One sentence of the grammar: subject, verb, object, and sometimes a place."""
    words = [rng.choice(DETERMINERS)]
    if rng.random() < 0.4:
        words.append(rng.choice(ADJECTIVES))
    words += [rng.choice(NOUNS), rng.choice(VERBS), rng.choice(DETERMINERS), rng.choice(NOUNS)]
    if rng.random() < 0.5:
        words += rng.choice(PLACES).split()
    return " ".join(words + ["."])


def text(rng, n_sentences):
    return "".join(" " + sentence(rng) + " \n" for _ in range(n_sentences))


# --------------------------------------------------------------------------------------------
# Surnames per language (char_rnn_classification): data/names/<Language>.txt, one per line,
# as in the tutorial's download (which has 18 languages and 20,074 names).

NAMES = {
    "English": "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore"
               " Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King"
               " Wright Baker Hill",
    "French": "Bernard Dubois Robert Richard Petit Durand Leroy Moreau Laurent Lefebvre Michel"
              " Bertrand Roux Vincent Fournier Morel Girard Andre Lefevre Mercier Dupont"
              " Lambert Bonnet Francois Rousseau",
    "German": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann"
              " Schafer Koch Bauer Richter Klein Wolf Schroder Neumann Schwarz Zimmermann"
              " Braun Kruger Hofmann Hartmann Lange",
    "Italian": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno"
               " Gallo Conti Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana"
               " Santoro Mariani Rinaldi Caruso",
    "Japanese": "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato"
                " Yoshida Yamada Sasaki Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu"
                " Yamazaki Mori Abe Ikeda Hashimoto Ishikawa",
    "Russian": "Ivanov Smirnov Kuznetsov Popov Vasiliev Petrov Sokolov Mikhailov Novikov"
               " Fedorov Morozov Volkov Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov"
               " Nikolaev Orlov Andreev Makarov Nikitin Zakharov",
}

# --------------------------------------------------------------------------------------------
# English-French pairs (seq2seq_translation): data/eng-fra.txt, "English<TAB>French" per
# line like the tutorial's download. The tutorial keeps the pairs whose English side starts
# with "i am", "he is", ...; the last lines are dropped by that filter, as in the real file.
# The pairs with "aussi", "conduire", "idiote" and "fiere" give the words of the four
# sentences the tutorial translates at its end.

PAIRS = """\
I am tired.\tJe suis fatigué.
I am happy.\tJe suis heureux.
I am sad.\tJe suis triste.
I am ready.\tJe suis prêt.
I am late.\tJe suis en retard.
I am sorry.\tJe suis désolé.
I am a student.\tJe suis étudiant.
I am a teacher.\tJe suis professeur.
I am at home.\tJe suis à la maison.
I am not tired.\tJe ne suis pas fatigué.
I am not ready.\tJe ne suis pas prêt.
I am very happy.\tJe suis très heureux.
I am very tired.\tJe suis très fatigué.
I am too old.\tJe suis trop vieux.
I am too young.\tJe suis trop jeune.
I am proud of you.\tJe suis fier de vous.
I am too tired to drive.\tJe suis trop fatigué pour conduire.
I am sorry if this is a stupid question.\tJe suis désolé si c'est une question idiote.
I am really proud of you.\tJe suis réellement fière de vous.
I'm tired.\tJe suis fatigué.
I'm happy.\tJe suis heureux.
He is tall.\tIl est grand.
He is small.\tIl est petit.
He is tired.\tIl est fatigué.
He is happy.\tIl est heureux.
He is a teacher.\tIl est professeur.
He is a student.\tIl est étudiant.
He is at home.\tIl est à la maison.
He is not ready.\tIl n'est pas prêt.
He is not tired.\tIl n'est pas fatigué.
He is very tall.\tIl est très grand.
He is too old.\tIl est trop vieux.
He is my father.\tC'est mon père.
He is my brother.\tC'est mon frère.
He is taller than his father.\tIl est plus grand que son père.
He is not as tall as his father.\tIl n'est pas aussi grand que son père.
He's happy.\tIl est heureux.
She is tall.\tElle est grande.
She is small.\tElle est petite.
She is tired.\tElle est fatiguée.
She is happy.\tElle est heureuse.
She is a teacher.\tElle est professeur.
She is a student.\tElle est étudiante.
She is at home.\tElle est à la maison.
She is not ready.\tElle n'est pas prête.
She is very happy.\tElle est très heureuse.
She is too young.\tElle est trop jeune.
She is my mother.\tC'est ma mère.
She is my sister.\tC'est ma soeur.
She is proud of her son.\tElle est fière de son fils.
She's ready.\tElle est prête.
You are tall.\tVous êtes grand.
You are tired.\tVous êtes fatigué.
You are happy.\tVous êtes heureux.
You are late.\tVous êtes en retard.
You are not ready.\tVous n'êtes pas prêt.
You are very kind.\tVous êtes très gentil.
You are too young.\tVous êtes trop jeune.
You are a student.\tVous êtes étudiant.
You're late.\tTu es en retard.
We are tired.\tNous sommes fatigués.
We are happy.\tNous sommes heureux.
We are students.\tNous sommes étudiants.
We are at home.\tNous sommes à la maison.
We are late.\tNous sommes en retard.
We are not ready.\tNous ne sommes pas prêts.
We are very happy.\tNous sommes très heureux.
We are too old.\tNous sommes trop vieux.
We're ready.\tNous sommes prêts.
They are tired.\tIls sont fatigués.
They are happy.\tIls sont heureux.
They are students.\tIls sont étudiants.
They are at home.\tIls sont à la maison.
They are late.\tIls sont en retard.
They are not ready.\tIls ne sont pas prêts.
They are very tall.\tIls sont très grands.
They are too young.\tIls sont trop jeunes.
They're here.\tIls sont ici.
Go.\tVa !
Hello!\tBonjour !
Thank you very much.\tMerci beaucoup.
"""

# --------------------------------------------------------------------------------------------
# Film dialogue (chatbot): data/movie-corpus/utterances.jsonl in the layout of the Cornell
# Movie-Dialogs corpus the tutorial downloads: one JSON object per utterance, each
# conversation's utterances last-first (the tutorial's loader re-inserts them at the front).

EXCHANGES = [
    ("how are you ?", ["i am fine .", "i am good .", "not bad ."]),
    ("where are you from ?", ["i am from paris .", "i am from london .", "i am from rome ."]),
    ("what is your name ?", ["my name is john .", "my name is anna .", "my name is paul ."]),
    ("where are you going ?", ["i am going home .", "i am going to work .", "to the city ."]),
    ("do you want some coffee ?", ["yes please .", "no thanks .", "yes i do ."]),
    ("are you ok ?", ["i am fine .", "yes i am .", "no i am not ."]),
    ("what time is it ?", ["it is late .", "it is early .", "i do not know ."]),
    ("who are you ?", ["i am your friend .", "i am a doctor .", "i am john ."]),
    ("what do you want ?", ["i want to go home .", "i want some coffee .", "nothing ."]),
    ("are you coming ?", ["yes i am coming .", "no i am not .", "i do not know ."]),
]
FOLLOW_UPS = ["good .", "ok .", "thanks .", "really ?"]


def dialogue(rng, n_conversations):
    """Conversations of two or three utterances, written last-first as the corpus has them."""
    rows = []
    for c in range(n_conversations):
        question, answers = EXCHANGES[c % len(EXCHANGES)]
        lines = [question, rng.choice(answers)]
        if rng.random() < 0.5:
            lines.append(rng.choice(FOLLOW_UPS))
        conversation_id = f"L{1000 + 10 * c}"
        for i, line in reversed(list(enumerate(lines))):
            rows.append({
                "id": f"L{1000 + 10 * c + i}",
                "conversation_id": conversation_id,
                "text": line,
                "speaker": f"u{i % 2}",
                "meta": {"movie_id": f"m{c % 7}"},
                "reply-to": f"L{1000 + 10 * c + i - 1}" if i else None,
            })
    return "".join(json.dumps(row) + "\n" for row in rows)


def files():
    """Every data file: {path relative to corpus/: text}."""
    out = {}
    lm = random.Random(0)
    for split, n in (("train", 400), ("valid", 60), ("test", 60)):
        out[f"word_language_model/data/synthetic/{split}.txt"] = text(lm, n)
    out["yunjey_language_model/data/train.txt"] = text(random.Random(1), 500)
    for language, names in NAMES.items():
        out[f"char_rnn_classification/data/names/{language}.txt"] = "\n".join(names.split()) + "\n"
    out["seq2seq_translation/data/eng-fra.txt"] = PAIRS
    out["chatbot/data/movie-corpus/utterances.jsonl"] = dialogue(random.Random(2), 120)
    return out


def main():
    for relative, content in files().items():
        path = CORPUS / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"{relative}: {len(content.encode())} bytes")


if __name__ == "__main__":
    main()
