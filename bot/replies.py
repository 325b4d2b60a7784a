"""Reply templates in both languages. Figures are filled in from tools and the fee schedule only."""

from __future__ import annotations

from typing import Any

T: dict[str, dict[str, str]] = {
    # -- greetings and small talk -------------------------------------------------------
    "intro": {
        "zh": "您好{name}，我是明光银行信用卡智能助手（AI，不是真人）。账单、分期、额度、挂失、积分和权益都可以问我，需要时我也可以为您转接人工客服。",
        "en": "Hello{name}, I'm Lumen Bank's credit-card assistant (an AI, not a person). Ask me about your bill, "
              "installments, your limit, a lost card, points or card benefits; I can also connect you to a person.",
    },
    "hello": {"zh": "您好{name}！请问有什么可以帮您？", "en": "Hi{name}! How can I help you today?"},
    "thanks": {"zh": "不客气，很高兴能帮到您。还有其他问题随时问我。",
               "en": "You're welcome, glad I could help. Ask me anytime."},
    "bye": {"zh": "感谢您的咨询，祝您生活愉快！", "en": "Thanks for chatting with us. Have a good day!"},
    "are_you_human": {
        "zh": "我是明光银行的智能助手（AI），不是真人。如果您希望与人工客服沟通，告诉我“转人工”即可。",
        "en": "I'm Lumen Bank's automated assistant (an AI), not a person. If you'd like to talk to a person, "
              "just say \"agent\".",
    },
    # -- understanding ---------------------------------------------------------------------
    "clarify": {"zh": "我想确认一下，您是想问以下哪一项？", "en": "Just to be sure, which of these do you mean?"},
    "clarify_other": {"zh": "都不是，转人工", "en": "None of these, talk to a person"},
    "out_of_scope": {
        "zh": "抱歉，这个问题超出了我能回答的范围。我是明光银行信用卡助手，可以帮您处理账单、分期、额度、挂失、积分和卡片权益等事项。",
        "en": "Sorry, that's outside what I can help with. I'm Lumen Bank's credit-card assistant: I can help "
              "with your bill, installments, your limit, a lost card, points and card benefits.",
    },
    "no_answer": {
        "zh": "抱歉，我没有在明光银行的知识库里找到可靠的答案。我可以为您转接人工客服，或者您换个说法再问一次。",
        "en": "Sorry, I couldn't find a reliable answer in Lumen Bank's knowledge base. I can connect you to a "
              "person, or you can rephrase the question.",
    },
    "secret_notice": {
        "zh": "为了您的资金安全，明光银行不会在聊天中索要完整卡号、CVV安全码、密码或短信验证码，请不要发送这些信息；您刚才发送的敏感信息已被隐藏，不会被保存。",
        "en": "For your security, Lumen Bank never asks for your full card number, CVV, PIN, passwords or SMS "
              "codes in chat. Please don't send them; what you just sent has been hidden and is not stored.",
    },
    "injection": {
        "zh": "我只能按照明光银行的服务规则为您处理信用卡相关的问题，无法执行其他指令。请问有什么信用卡问题需要帮忙？",
        "en": "I can only help with your Lumen Bank credit card under the bank's service rules, and I can't follow "
              "other instructions. What can I help you with on your card?",
    },
    "injection_note": {
        "zh": "（您消息中要求我改变规则或透露内部设定的部分，我不能照做。）",
        "en": "(I can't follow the part of your message that asks me to change my rules or reveal my "
              "instructions.) ",
    },
    "other_customer": {
        "zh": "出于隐私保护，我只能查询和处理您本人账户的信息，无法提供其他客户的资料。",
        "en": "To protect privacy, I can only look at and act on your own account, not anyone else's.",
    },
    "secret_offer": {
        "zh": "请不要发给我，也不要告诉任何人。明光银行（包括本智能助手和人工客服）不会索要您的完整卡号、CVV安全码、密码或短信验证码；"
              "任何人以银行名义索要，都不是明光银行。如果您已经告诉了别人，请立即在App里或通过本对话冻结卡片。",
        "en": "Please don't send it to me or to anyone else. Lumen Bank, including this assistant and our agents, never "
              "asks for your full card number, CVV, PIN, passwords or SMS codes; anyone who asks is not Lumen Bank. "
              "If you have already shared them, freeze your card now in the app or in this chat.",
    },
    "other_customer_next": {
        "zh": "如果家人或朋友需要办理，请他们本人登录明光银行App或联系客服。您本人的账单、额度和交易，我随时可以帮您查。",
        "en": " If a family member or friend needs help, they can sign in to the Lumen Bank app themselves or contact "
              "us. I'm glad to help with your own bill, limit or transactions.",
    },
    "abuse": {
        "zh": "我理解您现在很着急，我会尽力帮您解决。如果您愿意，我可以马上为您转接人工客服。",
        "en": "I understand you're frustrated, and I want to help sort this out. If you like, I can connect you "
              "to a person right away.",
    },
    "fallback": {
        "zh": "抱歉，我暂时无法给出准确的答复。为避免给您错误的信息，建议转接人工客服为您处理。",
        "en": "Sorry, I can't give you an accurate answer right now. So that you don't get wrong information, "
              "I suggest a person takes this over.",
    },
    # -- handoff -------------------------------------------------------------------------
    "handoff_queued": {
        "zh": "好的，已为您转接人工客服{why}。您目前排在第{position}位，预计等待约{eta}。等待期间您可以继续留言，客服接入后会看到我们之前的全部对话，无需重复说明。",
        "en": "Okay, I'm connecting you to a person{why}. You are number {position} in the queue, estimated wait "
              "about {eta}. You can keep writing while you wait; the agent will see our whole conversation, so "
              "you won't need to repeat yourself.",
    },
    "handoff_offline": {
        "zh": "人工客服的服务时间为每天{start}–{end}（北京时间），挂失和盗刷相关问题除外（7×24小时）。您可以现在留言，客服上班后会第一时间联系您，留言编号 {ticket}。",
        "en": "Our agents are available {start}–{end} China time every day (lost cards and fraud 24/7). You can "
              "leave a message now and an agent will contact you as soon as they are on; reference {ticket}.",
    },
    "handoff_already": {
        "zh": "您已在人工客服队列中，客服接入后会看到您的留言，请稍候。",
        "en": "You're already in the queue for a person; the agent will see your messages when they join.",
    },
    "handoff_unavailable": {
        "zh": "抱歉，人工客服系统暂时无法接入。您可以稍后再试，挂失请直接在本对话中办理，我会立即为您冻结卡片。",
        "en": "Sorry, the agent system is briefly unavailable. Please try again shortly; if your card is lost, "
              "tell me and I'll freeze it right away.",
    },
    "returned": {
        "zh": "我是明光银行智能助手（AI），人工客服已将对话转回给我。{note}还有什么可以帮您？",
        "en": "I'm Lumen Bank's assistant (AI) again; the agent handed the conversation back to me. {note}What "
              "else can I help with?",
    },
    "csat_thanks": {"zh": "感谢您的评价！", "en": "Thank you for your rating!"},
    # -- complaints ----------------------------------------------------------------------
    "complaint": {
        "zh": "非常抱歉给您带来不好的体验，您的投诉我们已经受理，编号 {case}。我们会在{first}个工作日内给您初步答复，{days}天内处理完毕。{regulator}我正在为您转接人工客服跟进。",
        "en": "I'm sorry about your experience. Your complaint is registered as {case}. We will give you a first "
              "answer within {first} business days and resolve it within {days} days. {regulator}I'm connecting "
              "you to a person to follow up.",
    },
    "complaint_regulator": {
        "zh": "您也有权向金融监管部门反映。",
        "en": "You also have the right to contact the financial regulator. ",
    },
    # -- account -------------------------------------------------------------------------
    "no_card": {"zh": "我没有查到您名下的信用卡。", "en": "I couldn't find a credit card in your name."},
    "card_system_down": {
        "zh": "抱歉，卡片系统暂时无法查询，请稍后再试，或由人工客服为您处理。",
        "en": "Sorry, I can't reach the card system right now. Please try again shortly, or a person can help.",
    },
}


def say(key: str, lang: str, **fields: Any) -> str:
    """The template ``key`` in ``lang`` (``zh``/``en``) with ``fields`` filled in."""
    return T[key]["zh" if lang == "zh" else "en"].format(**fields)


def pick(lang: str, zh: str, en: str) -> str:
    """Inline bilingual text for one-off phrases."""
    return zh if lang == "zh" else en


def fmt_date(value: Any, lang: str) -> str:
    """12月5日 / Dec 5 (with the year when it is not this year's, left to the caller)."""
    if lang == "zh":
        return f"{value.month}月{value.day}日"
    return value.strftime("%b ") + str(value.day)


def fmt_eta(seconds: float, lang: str) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes}分钟" if lang == "zh" else f"{minutes} minute{'s' if minutes != 1 else ''}"
