"""Word lists the local engine reads text with: function words per language, how speakers
start a new thought, words too everyday to be a hashtag, the cue words of a claim.

Data only: the modules that use a list say why it looks the way it does.
"""

from __future__ import annotations

# A handful of the commonest function words per language: enough to tell them apart.
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        ["and", "are", "be", "for", "have", "in", "is", "it", "not", "of", "on",
         "that", "the", "this", "to", "was", "with", "you"]
    ),
    "es": frozenset(
        ["como", "con", "de", "del", "el", "en", "es", "la", "las", "lo", "los",
         "más", "no", "para", "por", "que", "se", "una", "y"]
    ),
    "de": frozenset(
        ["auch", "auf", "das", "den", "der", "die", "ein", "eine", "für", "ich",
         "ist", "mit", "nicht", "sich", "und", "von", "zu"]
    ),
    "fr": frozenset(
        ["au", "avec", "dans", "de", "des", "du", "en", "est", "et", "la", "le",
         "les", "pas", "pour", "que", "qui", "sur", "une"]
    ),
    "it": frozenset(
        ["anche", "che", "come", "con", "della", "di", "e", "gli", "il", "la", "lo",
         "non", "per", "più", "sono", "una", "è"]
    ),
    "pt": frozenset(
        ["a", "as", "com", "da", "de", "do", "e", "em", "mais", "não", "o", "os",
         "para", "por", "que", "se", "uma", "é"]
    ),
    "nl": frozenset(
        ["dat", "de", "een", "en", "er", "het", "is", "maar", "met", "niet", "om",
         "ook", "op", "van", "voor", "zijn"]
    ),
}  # fmt: skip

# Languages pysbd segments; anything else is segmented with the closest rules it has.
PYSBD_LANGUAGES = frozenset(
    [ "am", "ar", "bg", "da", "de", "el", "en", "es", "fa", "fr", "hi", "hy", "it", "ja",
     "kk", "mr", "my", "nl", "pl", "ru", "sk", "ur", "zh"]
)  # fmt: skip

PYSBD_FALLBACK = {"pt": "es", "ko": "en"}

# Where a speaker starts a new thought (English; other languages break on length).
STRONG_STARTS = frozenset(
    [ "also", "and", "anyway", "because", "but", "honestly", "ok", "okay", "so", "then",
     "yeah"]
)  # fmt: skip

# Words that start a clause: a long spoken run is cut before the last of them.
WEAK_STARTS = frozenset(
    [ "and", "because", "but", "i", "if", "it", "so", "that's", "then", "this", "we",
     "when", "where", "which", "who", "you"]
)  # fmt: skip

# Said before a thought starts; dropped from the head of a spoken sentence.
OPENING_FILLERS = frozenset(
    [ "and", "ok", "okay", "right", "so", "well", "yeah"]
)  # fmt: skip

# Capitals that are not a subject.
NOT_ACRONYMS = frozenset(
    [ "AM", "AND", "OK", "OR", "PM", "THE", "TODO", "TV"]
)  # fmt: skip

FIRST_PERSON = frozenset(
    [ "i", "me", "my", "our", "us", "we"]
)  # fmt: skip

# Every English claim cue holds one of these words: a sentence without any skips the
# patterns (most sentences, and ranking a long article scores every one of them).
CLAIM_CUE_WORDS = frozenset(
    [ "always", "aren", "battle", "best", "better", "biggest", "can", "cannot",
     "cheapest", "decides", "do", "doesn", "don", "goal", "hardest", "instead", "isn",
     "key", "lesson", "matter", "matters", "most", "must", "need", "needs", "never",
     "not", "only", "point", "problem", "rather", "secret", "should", "trick", "truth",
     "turns", "usually", "won", "worse", "worth"]
)  # fmt: skip

# Irregular English past tenses: the story of what happened, not its point.
PAST_EN = frozenset(
    [ "became", "began", "felt", "had", "knew", "saw", "spent", "thought", "told",
     "took", "was", "went", "were", "taught", "brought", "built", "wrote", "made", "got", "gave",
     "found", "left", "kept", "ran", "said", "sent", "won", "lost"]
)  # fmt: skip

# Words yake ranks high in many texts that make limp hashtags on their own.
EVERYDAY_WORDS = frozenset(
    [ "actually", "ago", "back", "bad", "big", "change", "changes", "cost", "costs",
     "count", "day", "days", "end", "example", "examples", "fast", "first", "fix",
     "get", "good", "got", "half", "honestly", "hour", "hours", "idea", "ideas", "job",
     "jobs", "last", "lot", "made", "make", "minute", "minutes", "month", "months",
     "need", "needs", "new", "next", "number", "numbers", "old", "part", "parts",
     "people", "person", "point", "points", "really", "run", "running", "runs", "side",
     "single", "slow", "small", "start", "started", "step", "steps", "take", "thing",
     "things", "time", "times", "today", "tomorrow", "took", "wait", "waiting", "want",
     "way", "ways", "week", "weeks", "work", "works", "year", "years", "yesterday"]
)  # fmt: skip

# Tags that fit any post and so say nothing about this one.
GENERIC_TAGS = frozenset(
    ["article", "blog", "content", "episode", "free", "ideas",
     "issue", "learning", "lessons", "letter", "life", "news", "newsletter", "notes",
     "podcast", "post", "posts", "product", "show", "stuff", "success", "thread", "tips",
     "update", "video", "writing", "work", "january", "february", "march", "april", "may",
     "june", "july", "august", "september", "october", "november", "december", "monday",
     "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
)  # fmt: skip

# A document's housekeeping headings ("Installation", "Usage", "FAQ") and the limp
# adjectives of its lists ("Optional", "Basic"): words that name a section of any README,
# never what this one is about, so never a hashtag.
SECTION_WORDS = frozenset(
    ["about", "abstract", "acknowledgements", "acknowledgments", "authors", "available",
     "background", "basic", "basics", "build", "building", "changelog", "changes", "code",
     "conclusion", "contact", "contents", "contribute", "contributing", "contribution",
     "contributions", "contributors", "credits", "custom", "customization", "default",
     "description", "details", "development", "docs", "documentation", "donate",
     "download", "downloads", "examples", "faq", "faqs", "features", "fixes", "further",
     "getting", "guide", "handling", "help", "history", "install", "installation",
     "installing", "intro", "introduction", "latest", "license", "licence", "licensing",
     "links", "main", "misc", "miscellaneous", "more", "notes", "optional", "options",
     "overview", "prerequisites", "project", "quick", "quickstart", "readme", "reference",
     "references", "release", "releases", "requirements", "required", "setup", "special",
     "sponsor", "sponsors", "started", "status", "summary", "support", "supported",
     "table", "toc", "todo", "usage", "use", "using", "version", "versions",
     # es, de, fr, pt, it
     "instalación", "uso", "licencia", "documentación", "ejemplos", "introducción",
     "requisitos", "contribuir", "instalação", "licença", "documentação", "exemplos",
     "introdução", "nutzung", "verwendung", "lizenz", "dokumentation", "beispiele",
     "einleitung", "einführung", "voraussetzungen", "beschreibung", "utilisation",
     "exemples", "prérequis", "installazione", "licenza", "esempi", "introduzione"]
)  # fmt: skip
