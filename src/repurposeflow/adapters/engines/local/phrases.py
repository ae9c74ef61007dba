"""The few words the local engine adds around the source's own sentences.

Everything here is said by a person posting their own work: openers, closers, calls to
action. No digits and no links (they would be facts the source may not contain), no
"sounds like AI" phrasing, and nothing that claims a fact about the source. English
varies by tone; other languages have one neutral voice and fall back to English for
anything missing.
"""

from __future__ import annotations

from collections.abc import Mapping

from repurposeflow.domain.enums import Tone

Role = str
_ANY = "any"

_C, _E, _O, _A = Tone.CONVERSATIONAL, Tone.EDUCATIONAL, Tone.OPINIONATED, Tone.AUTHORITY

_EN: Mapping[Role, Mapping[str, tuple[str, ...]]] = {
    # Follows the first post's hook sentence in an X thread or on Threads.
    "opener": {
        _C: ("Here's the short version 👇", "Let me walk you through it 👇",
             "A few things worth sharing 👇"),
        _E: ("Here's how it breaks down 🧵", "The key ideas, in order 🧵",
             "A quick breakdown for anyone dealing with this 🧵"),
        _O: ("My take, in a few posts 👇", "Here's my argument 👇", "I'll make the case 👇"),
        _A: ("The essentials, in order 🧵", "The essentials, briefly 🧵", "In brief 🧵"),
    },
    "closer": {
        _C: ("If it helped, a repost helps someone else find it.",
             "What would you add?",
             "Curious what you'd do differently."),
        _E: ("Save this for the next time it comes up, and pass it to someone who needs it.",
             "Bookmark this one. It's easier to find when you need it.",
             "If this cleared something up, share it with someone who's stuck on it."),
        _O: ("Agree or disagree? I'd like to hear the counterargument.",
             "Tell me where you think I'm wrong.",
             "Change my mind. Replies are open."),
        _A: ("Follow for more practical breakdowns like this.",
             "If this was useful, share it with your team.",
             "Put one of these into practice this week and see what changes."),
    },
    # Frames a TikTok hook: always followed by a sentence of the source, never alone.
    "hook_frame": {
        _C: ("Real talk:", "Quick story:", "Okay, so:"),
        _E: ("Quick lesson:", "How it works:", "The short version:"),
        _O: ("My take:", "Hot take:", "Where I stand:"),
        _A: ("The short version:", "Key point:", "In one line:"),
    },
    "tiktok_cta": {
        _C: ("Follow for more like this, and tell me in the comments what you'd try first.",
             "Tell me in the comments if this happened to you too."),
        _E: ("Save this so you have it when you need it, and follow for more explainers.",
             "Follow for more quick lessons like this one."),
        _O: ("Disagree? Tell me why in the comments.",
             "Drop your counterargument in the comments."),
        _A: ("Follow for more straight answers on this.",
             "Save this and put it to work this week."),
    },
    "linkedin_bridge": {
        _C: ("Here's what stood out to me:", "A few things I keep coming back to:"),
        _E: ("Here's how it breaks down:", "The main points:"),
        _O: ("My reasoning, point by point:", "The case, in short:"),
        _A: ("The essentials:", "The points, in order:"),
    },
    "linkedin_cta": {
        _C: ("What's been your experience with this?", "Has this happened on your team too?"),
        _E: ("Which of these would you try first?", "What would you add to this list?"),
        _O: ("Do you agree, or am I missing something?", "Where do you land on this?"),
        _A: ("How is your team handling this today?", "What's worked for you?"),
    },
    "instagram_cta": {
        _C: ("Save this for later and send it to a friend who needs it.",
             "Tell me in the comments if this sounds familiar."),
        _E: ("Save this post so you can come back to it.",
             "Save it for later and share it with someone learning this."),
        _O: ("Agree or disagree? Tell me in the comments.",
             "Say it in the comments if you think I'm wrong."),
        _A: ("Save this and share it with your team.",
             "Keep this one handy. You'll need it."),
    },
    "slide_end": {
        _C: ("Save this for later", "Send this to a friend"),
        _E: ("Save this to come back to it", "Share it with someone learning this"),
        _O: ("Agree? Tell me in the comments", "Change my mind in the comments"),
        _A: ("Save this and share it with your team", "Put one of these to work this week"),
    },
    "email_greeting": {_C: ("Hi there,",), _E: ("Hi,",), _O: ("Hi,",), _A: ("Hello,",)},
    "email_points_intro": {
        _C: ("A few things worth knowing:",),
        _E: ("The main points:",),
        _O: ("Here's my case:",),
        _A: ("What matters most:",),
    },
    "email_cta": {
        _C: ("Hit reply and tell me what you'd try first. I read every reply.",),
        _E: ("Forward this to a colleague who'd find it useful.",),
        _O: ("Reply and tell me where you disagree.",),
        _A: ("Share this with your team and put one idea into practice this week.",),
    },
    "email_signoff": {
        _C: ("Talk soon,",),
        _E: ("Thanks for reading,",),
        _O: ("Until next time,",),
        _A: ("Best,",),
    },
    # Pads a preheader that would be shorter than email clients show (at least forty).
    "preheader_pad": {
        _ANY: ("A short read, worth a few minutes of your time.",
               "Quick notes worth reading, straight from my desk to yours.",
               "Some thoughts I wanted to share with you this time around."),
    },
    # Said when every other phrase for a role is on the person's banned list.
    "last_resort": {_ANY: ("Thoughts?", "More soon.", "Your turn.", "🙌")},
    # Last resort when a note is too short to give three talking points of its own.
    "filler_point": {
        _ANY: ("Think about where this shows up in your own work.",
               "Try it once and notice what changes.",
               "Write down what you'd do differently next time.",
               "Share it with someone who needs to hear it.",
               "Ask yourself if this applies to you."),
    },
    # Heads a how-to's numbered steps.
    "steps_intro": {_ANY: ("The steps:", "Step by step:")},
    # Introduces the piece's main link (an X closer, a LinkedIn line, an email CTA).
    "link_intro": {_ANY: ("More here:", "The link:", "Read it here:")},
    "fallback_tag": {_ANY: ("#writing", "#ideas", "#lessons", "#notes", "#work")},
}  # fmt: skip

_ES: Mapping[Role, Mapping[str, tuple[str, ...]]] = {
    "opener": {_ANY: ("Te lo cuento en pocas líneas 👇", "Lo importante, en orden 👇")},
    "closer": {_ANY: ("¿Qué añadirías tú?", "Si te sirvió, compártelo con alguien más.")},
    "hook_frame": {_ANY: ("En pocas palabras:", "Lo importante:", "Te lo resumo:")},
    "tiktok_cta": {_ANY: ("Sígueme para más y cuéntame en los comentarios qué probarías.",)},
    "linkedin_bridge": {_ANY: ("Lo que más me llamó la atención:",)},
    "linkedin_cta": {_ANY: ("¿Cuál ha sido tu experiencia con esto?",)},
    "instagram_cta": {_ANY: ("Guárdalo para después y compártelo con quien lo necesite.",)},
    "slide_end": {_ANY: ("Guárdalo para después", "Compártelo con alguien")},
    "link_intro": {_ANY: ("Más aquí:",)},
    "steps_intro": {_ANY: ("Los pasos:",)},
    "email_greeting": {_ANY: ("Hola,",)},
    "email_points_intro": {_ANY: ("Lo más importante:",)},
    "email_cta": {_ANY: ("Responde a este correo y cuéntame qué probarías primero.",)},
    "email_signoff": {_ANY: ("Un saludo,",)},
    "preheader_pad": {_ANY: ("Una lectura breve que merece unos minutos de tu tiempo.",)},
}  # fmt: skip

_DE: Mapping[Role, Mapping[str, tuple[str, ...]]] = {
    "opener": {_ANY: ("Die Kurzfassung 👇", "Das Wichtigste, der Reihe nach 👇")},
    "closer": {_ANY: ("Was würdest du ergänzen?", "Wenn es geholfen hat, teil es gern.")},
    "hook_frame": {_ANY: ("Kurz gesagt:", "Das Wichtigste:", "In einem Satz:")},
    "tiktok_cta": {_ANY: ("Folge mir für mehr und schreib in die Kommentare, "
                          "was du zuerst ausprobierst.",)},
    "linkedin_bridge": {_ANY: ("Was mir besonders aufgefallen ist:",)},
    "linkedin_cta": {_ANY: ("Welche Erfahrungen hast du damit gemacht?",)},
    "instagram_cta": {_ANY: ("Speichere den Beitrag und teile ihn mit jemandem, "
                             "der ihn braucht.",)},
    "slide_end": {_ANY: ("Speichern für später", "Teile es mit jemandem")},
    "link_intro": {_ANY: ("Mehr dazu:",)},
    "steps_intro": {_ANY: ("Die Schritte:",)},
    "email_greeting": {_ANY: ("Hallo,",)},
    "email_points_intro": {_ANY: ("Das Wichtigste:",)},
    "email_cta": {_ANY: ("Antworte auf diese Mail und erzähl mir, was du zuerst ausprobierst.",)},
    "email_signoff": {_ANY: ("Viele Grüße,",)},
    "preheader_pad": {_ANY: ("Eine kurze Lektüre, die ein paar Minuten wert ist.",)},
}  # fmt: skip

_FR: Mapping[Role, Mapping[str, tuple[str, ...]]] = {
    "opener": {_ANY: ("La version courte 👇", "L'essentiel, dans l'ordre 👇")},
    "closer": {_ANY: ("Qu'est-ce que vous ajouteriez ?", "Si ça vous a aidé, partagez-le.")},
    "hook_frame": {_ANY: ("En bref :", "L'essentiel :", "En une phrase :")},
    "tiktok_cta": {_ANY: ("Abonnez-vous pour la suite et dites-moi en commentaire "
                          "ce que vous essaieriez.",)},
    "linkedin_bridge": {_ANY: ("Ce qui m'a marqué :",)},
    "linkedin_cta": {_ANY: ("Quelle est votre expérience là-dessus ?",)},
    "instagram_cta": {_ANY: ("Enregistrez ce post et partagez-le avec quelqu'un "
                             "qui en a besoin.",)},
    "slide_end": {_ANY: ("Enregistrez pour plus tard", "Partagez-le")},
    "link_intro": {_ANY: ("Plus ici :",)},
    "steps_intro": {_ANY: ("Les étapes :",)},
    "email_greeting": {_ANY: ("Bonjour,",)},
    "email_points_intro": {_ANY: ("L'essentiel :",)},
    "email_cta": {_ANY: ("Répondez à ce mail pour me dire ce que vous essaieriez en premier.",)},
    "email_signoff": {_ANY: ("À bientôt,",)},
    "preheader_pad": {_ANY: ("Une lecture courte, qui vaut quelques minutes de votre temps.",)},
}  # fmt: skip

_JA: Mapping[Role, Mapping[str, tuple[str, ...]]] = {
    "opener": {_ANY: ("ポイントをまとめました👇", "順番に説明します👇")},
    "closer": {_ANY: ("あなたならどうしますか？", "役に立ったらシェアしてください。")},
    "hook_frame": {_ANY: ("ポイント：", "結論から：", "ひとことで言うと：")},
    "tiktok_cta": {_ANY: ("フォローして、最初に試したいことをコメントで教えてください。",)},
    "linkedin_bridge": {_ANY: ("特に印象に残ったこと：",)},
    "linkedin_cta": {_ANY: ("皆さんの経験はどうですか？",)},
    "instagram_cta": {_ANY: ("保存して、必要な人にシェアしてください。",)},
    "slide_end": {_ANY: ("保存してあとで見返そう", "必要な人にシェアしよう")},
    "link_intro": {_ANY: ("詳しくはこちら：",)},
    "steps_intro": {_ANY: ("手順：",)},
    "email_greeting": {_ANY: ("こんにちは。",)},
    "email_points_intro": {_ANY: ("大事なポイント：",)},
    "email_cta": {_ANY: ("このメールに返信して、最初に試したいことを教えてください。",)},
    "email_signoff": {_ANY: ("それでは、また。",)},
    "preheader_pad": {_ANY: ("数分で読める短い内容です。ぜひ最後まで読んでみてください。"
                             "あなたの仕事にも役立つはずです。",)},
}  # fmt: skip

_ZH: Mapping[Role, Mapping[str, tuple[str, ...]]] = {
    "opener": {_ANY: ("重点整理如下👇", "按顺序说清楚👇")},
    "closer": {_ANY: ("你会怎么做？", "觉得有用就转给需要的人。")},
    "hook_frame": {_ANY: ("重点：", "一句话：", "简单说：")},
    "tiktok_cta": {_ANY: ("关注我，在评论里说说你最想先试哪一个。",)},
    "linkedin_bridge": {_ANY: ("让我印象最深的几点：",)},
    "linkedin_cta": {_ANY: ("你在这方面有什么经验？",)},
    "instagram_cta": {_ANY: ("先收藏，再分享给需要的人。",)},
    "slide_end": {_ANY: ("收藏起来慢慢看", "分享给需要的人")},
    "link_intro": {_ANY: ("详情：",)},
    "steps_intro": {_ANY: ("步骤：",)},
    "email_greeting": {_ANY: ("你好，",)},
    "email_points_intro": {_ANY: ("最重要的几点：",)},
    "email_cta": {_ANY: ("直接回复这封邮件，告诉我你最想先试哪一个。",)},
    "email_signoff": {_ANY: ("下次见，",)},
    "preheader_pad": {_ANY: ("几分钟就能读完的一封短信，希望对你的工作有所帮助，"
                             "也欢迎你转发给身边需要的朋友和同事。",)},
}  # fmt: skip

_BOOKS: Mapping[str, Mapping[Role, Mapping[str, tuple[str, ...]]]] = {
    "en": _EN,
    "es": _ES,
    "de": _DE,
    "fr": _FR,
    "ja": _JA,
    "zh": _ZH,
}


_LANGUAGE_NAMES = {
    "en": "English", "es": "Spanish", "de": "German", "fr": "French", "it": "Italian",
    "pt": "Portuguese", "nl": "Dutch", "ja": "Japanese", "zh": "Chinese", "ko": "Korean",
    "ru": "Russian", "el": "Greek", "ar": "Arabic", "hi": "Hindi",
}  # fmt: skip


def language_name(code: str) -> str:
    return _LANGUAGE_NAMES.get(code, code)


def has_tone_phrases(language: str, tone: Tone) -> bool:
    """Whether ``language`` has its own lines for ``tone`` (English has them for every
    tone; the others one neutral voice)."""
    book = _BOOKS.get(language)
    return book is not None and any(tone.value in by_tone for by_tone in book.values())


def phrases(language: str, role: Role, tone: Tone) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The phrases for a role: the language's own for this tone first, then spares (other
    tones, then English) for when a person's banned phrases rule out the first ones."""
    own: tuple[str, ...] = ()
    spares: list[str] = []
    for book in (_BOOKS.get(language), _EN):
        if book is None or role not in book:
            continue
        by_tone = book[role]
        mine = by_tone.get(tone.value, ()) or by_tone.get(_ANY, ())
        if not own:
            own = mine
        else:
            spares.extend(mine)
        for key, values in by_tone.items():
            if key not in (tone.value, _ANY) or values is not mine:
                spares.extend(values)
    return own, tuple(p for p in dict.fromkeys(spares) if p not in own)
