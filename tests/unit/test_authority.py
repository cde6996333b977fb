"""Reading the visitor's part in the buying decision and their job title."""

from __future__ import annotations

import pytest

from qualifying.authority import Authority, parse_authority
from qualifying.declines import DECLINED, Declined


@pytest.mark.parametrize(
    "said, expected",
    [
        ("I sign off on this", Authority("decision_maker", None)),
        ("I'm the CEO", Authority("decision_maker", "CEO")),
        ("im the ceo", Authority("decision_maker", "CEO")),
        ("I make the final decision", Authority("decision_maker", None)),
        ("i make the final descision", Authority("decision_maker", None)),
        ("it's my company, so it's my call", Authority("decision_maker", None)),
        ("I'm the founder", Authority("decision_maker", "Founder")),
        ("i'm the fonder", Authority("decision_maker", "Founder")),
        ("I'm one of the founders", Authority("decision_maker", "Founder")),
        ("I'm the VP of Sales, I sign off on this", Authority("decision_maker", "VP of Sales")),
        ("I'm Dana, VP Sales at Acme", Authority("decision_maker", "VP Sales")),
        ("owner", Authority("decision_maker", "Owner")),
        ("I own the budget", Authority("decision_maker", None)),
        ("I have final say", Authority("decision_maker", None)),
        ("sales director, I decide", Authority("decision_maker", "Sales Director")),
        ("the buck stops with me", Authority("decision_maker", None)),
        ("I'm in charge of purchasing", Authority("decision_maker", None)),
        ("I'm a freelancer, so me", Authority("decision_maker", None)),
        ("I'm the owner of a small bakery", Authority("decision_maker", "Owner")),
        ("I run a small dental practice", Authority("decision_maker", None)),
        ("it's my shop", Authority("decision_maker", None)),
        # A word of the speaker's own field before a title.
        ("I'm the practice manager", Authority("influencer", "Practice Manager")),
        ("clinic manager here", Authority("influencer", "Clinic Manager")),
        (
            "i'm the practice manager, the dentist who owns it signs off",
            Authority("influencer", "Practice Manager"),
        ),
        ("I talked to the practice manager", None),
        ("I'm her manager", None),
        ("I do the research and my boss signs the check", Authority("influencer", None)),
        ("we decide as a team", Authority("influencer", None)),
        ("I'm the person who'll use it", Authority("influencer", None)),
        ("I'd recommend it to my boss", Authority("influencer", None)),
        (
            "I'd need sign-off from our finance director, but I'm driving this",
            Authority("influencer", None),
        ),
        ("I need approval from my boss first", Authority("influencer", None)),
        ("id recomend it to my manager", Authority("influencer", None)),
        ("I'm on the evaluation team", Authority("influencer", None)),
        ("I'll put together a recommendation for our COO", Authority("influencer", None)),
        ("I influence the decision", Authority("influencer", None)),
        ("my manager decides", Authority("influencer", None)),
        ("the CEO decides", Authority("influencer", None)),
        ("my boss is the decision maker", Authority("influencer", None)),
        ("I'm part of the buying committee", Authority("influencer", None)),
        ("team lead, I'll present options", Authority("influencer", "Team Lead")),
        ("I'm not the decision maker", Authority("influencer", None)),
        ("it's not up to me", Authority("influencer", None)),
        ("I help decide", Authority("influencer", None)),
        ("I'm an intern, my boss decides", Authority("influencer", "Intern")),
        ("I'm the CEO's assistant", Authority("influencer", "Assistant")),
        ("I report to the CTO", Authority("influencer", None)),
        ("just researching for a class", Authority("researcher", None)),
        ("I'm just researching for a class", Authority("researcher", None)),
        ("I'm a student", Authority("researcher", "Student")),
        ("just gathering information", Authority("researcher", None)),
        ("curious", Authority("researcher", None)),
        ("i have no say", Authority("researcher", None)),
    ],
)
def test_the_part_in_the_decision_is_read_from_what_is_said(
    said: str, expected: Authority | None
) -> None:
    assert parse_authority(said) == expected


@pytest.mark.parametrize(
    "said, expected",
    [
        ("CEO", Authority("decision_maker", "CEO")),
        ("CTO", Authority("decision_maker", "CTO")),
        ("CFO", Authority("decision_maker", "CFO")),
        ("COO", Authority("decision_maker", "COO")),
        ("Chief Executive Officer", Authority("decision_maker", "Chief Executive Officer")),
        ("founder", Authority("decision_maker", "Founder")),
        ("co-founder", Authority("decision_maker", "Co-founder")),
        ("president", Authority("decision_maker", "President")),
        ("VP", Authority("decision_maker", "VP")),
        ("vice president of marketing", Authority("decision_maker", "Vice President of Marketing")),
        ("director", Authority("decision_maker", "Director")),
        ("head of support", Authority("decision_maker", "Head of Support")),
        (
            "Head of Customer Support at Acme",
            Authority("decision_maker", "Head of Customer Support"),
        ),
        ("general manager", Authority("decision_maker", "General Manager")),
        ("manager", Authority("influencer", "Manager")),
        ("I'm the marketing manager", Authority("influencer", "Marketing Manager")),
        ("team lead", Authority("influencer", "Team Lead")),
        ("senior engineer", Authority("influencer", "Senior Engineer")),
        ("analyst", Authority("influencer", "Analyst")),
        ("engineer", Authority("influencer", "Engineer")),
        ("specialist", Authority("influencer", "Specialist")),
        ("consultant", Authority("influencer", "Consultant")),
        ("coordinator", Authority("influencer", "Coordinator")),
        ("product owner", Authority("influencer", "Product Owner")),
        ("student", Authority("researcher", "Student")),
        ("intern", Authority("researcher", "Intern")),
    ],
)
def test_a_job_title_alone_gives_its_level(said: str, expected: Authority) -> None:
    assert parse_authority(said) == expected


@pytest.mark.parametrize("said", ["rather not say", "don't know", "I don't know", "not sure"])
def test_not_saying_is_a_decline(said: str) -> None:
    assert parse_authority(said) is DECLINED


@pytest.mark.parametrize("said", ["", "   ", "what's the weather?", "blue", "of course", "lead"])
def test_a_text_about_something_else_is_not_understood(said: str) -> None:
    assert parse_authority(said) is None


@pytest.mark.parametrize("said", ["I'm the ceo " * 900, "a" * 10_000, "my boss " * 1250])
def test_a_huge_answer_is_read(said: str) -> None:
    # How fast is the bench's business (docs/benchmarks.md), not a timed test's.
    found = parse_authority(said)
    assert found is None or isinstance(found, (Authority, Declined))


@pytest.mark.parametrize(
    "said, expected",
    [
        # Bodies that decide, with or without "the", and the visitor who advises them.
        ("the governors approve it, I just prepare the options", "influencer"),
        ("partners sign off but they tend to go with what I recommend", "influencer"),
        ("I'll take it to the parish council", "influencer"),
        ("I'd hand this over to my line manager if it looks right", "influencer"),
        ("the client pays for it, I'll recommend one to the client", "influencer"),
        ("our managing director asked me to find something", "influencer"),
        ("procurement buys, I give my input", "influencer"),
        # Owning it, alone or with fellow owners.
        ("I own all three salons", "decision_maker"),
        ("the budget's mine", "decision_maker"),
        ("mine", "decision_maker"),
        ("it comes down to me", "decision_maker"),
        ("I'm the one picking the software", "decision_maker"),
        ("my co-founder and I decide on tools", "decision_maker"),
        ("I manage the sales floor and hold the purse strings", "decision_maker"),
        ("I'm one of the partners", "decision_maker"),
        # What they are doing instead of buying wins over the title they hold.
        ("developer here, just curious how this works", "researcher"),
        ("I'm putting together a lecture on sales software", "researcher"),
        ("writing an article on support tools", "researcher"),
        # Formal ownership of the decision, alone or as a group's deciding voice.
        ("the final approval rests with me", "decision_maker"),
        ("sign-off is mine", "decision_maker"),
        ("I lead the buying panel and cast the deciding vote", "decision_maker"),
        ("I hold the casting vote", "decision_maker"),
        ("the final vote rests with our board", "influencer"),
        # Heading a team says no title when others decide.
        ("I head our service desk, but the COO signs off", "influencer"),
        # A profession that usually runs its own practice.
        ("I'm a chiropractor", "decision_maker"),
    ],
)
def test_who_decides_is_read_from_how_it_is_said(said: str, expected: str) -> None:
    authority = parse_authority(said)
    assert isinstance(authority, Authority), said
    assert authority.level == expected, said


@pytest.mark.parametrize(
    "said",
    ["patients phone us all day", "pet owners keep emailing us", "our store managers want reports"],
)
def test_people_in_the_plural_are_not_the_speakers_title(said: str) -> None:
    authority = parse_authority(said)
    assert not isinstance(authority, Authority) or authority.job_title is None, said


def test_the_words_after_a_title_decide_nothing_unless_they_speak_of_the_decision() -> None:
    assert parse_authority("partner at a small architecture practice") == Authority(
        "decision_maker", "Partner"
    )
