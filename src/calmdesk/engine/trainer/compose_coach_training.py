"""Compose `devsets/coach_training.jsonl`: training replies for the coach's tone model.

Run: `python -m calmdesk.engine.trainer.compose_coach_training [--out PATH]` (default: the
packaged file). The output is byte-identical for the same pieces and seed (tested).

Every reply is put together from hand-written pieces (situations, openings, apologies,
empathy, hollow acknowledgements, bad sentences per tone rule in many voices, clean look-alike
sentences, sign-offs). No piece was copied from the reply sets, the seed texts or public data.
Each piece has an id (`<list>-<index>`), and each reply records the ids it was built from.

Folds: reply `k{i}` belongs to fold `(i - 1) % 5`, and takes every piece from its fold's fifth
of each list (piece `j` of a list is in fold `j % 5`). Folds therefore share no piece, so a
cross-validated model is scored on wording it has never seen, as for `customer_training.jsonl`.

Labels follow the conventions of `agent_replies.jsonl` (devsets README): avoid findings on the
shortest span that shows the problem (a bad piece marks its span with [brackets], else the
whole sentence), good-kind findings exactly when the technique is 1, `blocking` exactly when
insult or threat_back is present. `no_next_step`, `hollow_sympathy` and
`solution_before_acknowledgement` are labelled mechanically from the pieces used (see README).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

SEED: Final = 20261207
REPLIES: Final = 1600
FOLDS: Final = 5
CLEAN_SHARE: Final = 0.5
OUT: Final = Path(__file__).resolve().parents[1] / "devsets" / "coach_training.jsonl"
TECHNIQUE_RULE: Final = {
    "apology": "apology",
    "empathy": "empathy",
    "paraphrase": "paraphrase",
    "question": "clarifying_question",
    "ownership": "ownership",
    "next_step": "next_step",
    "thanks": "thanks",
}
BLOCKING_RULES: Final = frozenset({"insult", "threat_back", "other_customer_data"})


@dataclass(frozen=True)
class Situation:
    industry: str
    customer: str
    angry: bool
    paraphrase: str
    next_step: str  # starts with "I'll"/"I've": ownership and next step
    question: str


# fmt: off
SITUATIONS: Final = (
    Situation("telecom", "My broadband has cut out every night this week and I work from home. Fix it.", True,
              "So the connection drops every evening and a restart doesn't bring it back, is that right?",
              "I'll book an engineer for Friday morning and text you the slot by 4 pm today.",
              "Does the light on the router go red when it drops?"),
    Situation("air travel", "You cancelled my flight to Lisbon with two hours notice and nobody at the desk could tell me anything.", True,
              "Your Lisbon flight was cancelled at the gate with almost no warning and nobody could help you there.",
              "I've rebooked you on the 07:40 tomorrow and I'll email the hotel voucher within the hour.",
              "Would a flight from the other terminal work for you too?"),
    Situation("retail", "The sofa arrived with a torn cushion. Third delivery this month that's gone wrong.", True,
              "The sofa came with a torn seat cushion, after two other bad deliveries this month.",
              "I'll have a replacement cushion couriered to you by Thursday.",
              "Is the frame itself undamaged?"),
    Situation("banking", "Why have I been charged a £35 overdraft fee when your app was down and I couldn't move money?", True,
              "You were charged £35 because the app outage stopped you moving money across in time.",
              "I've refunded the £35 fee and I'll add a note so it can't be charged again for that day.",
              "Was it the mobile app or the website that wouldn't load?"),
    Situation("energy", "Hi, could you tell me when my fixed tariff ends? Thanks.", False,
              "You'd like to know the end date of your fixed tariff.",
              "I'll email you the end date and the renewal options this afternoon.",
              "Would you like me to set a reminder a month before it ends?"),
    Situation("parcel delivery", "Tracking says delivered but there is nothing here and I've checked with the neighbours. This is useless.", True,
              "The tracking shows the parcel as delivered but it never reached you or your neighbours.",
              "I'll open a trace with the courier now and refund you in full if it isn't found by Monday.",
              "Is there a safe place, like a porch or bin store, the driver might have used?"),
    Situation("SaaS", "Our whole team is locked out of the dashboard and we have a client demo in an hour!!", True,
              "Everyone on your team is locked out of the dashboard with a client demo in an hour.",
              "I've escalated this to our on-call engineer and I'll message you here every 15 minutes.",
              "Are you all seeing the same error message?"),
    Situation("insurance", "My claim for the storm damage has been 'under review' for seven weeks. Seven.", True,
              "Your storm damage claim has sat under review for seven weeks without a decision.",
              "I'll get the assessor to call you by Wednesday with a decision date.",
              "Have you had any visit from a loss adjuster yet?"),
    Situation("food delivery", "Ordered a vegan curry and got chicken. I'm vegan. Disgusting.", True,
              "You ordered a vegan curry and were sent a chicken dish instead.",
              "I've refunded the whole order and I'll report it to the restaurant today.",
              "Did the bag have the right order number on it?"),
    Situation("healthcare", "My mum's repeat prescription still hasn't arrived and she's down to her last two tablets.", False,
              "Your mum's repeat prescription hasn't arrived and she only has two tablets left.",
              "I'll ask the pharmacy to send it by same-day courier and ring you once it's out.",
              "Is the delivery address still her home address?"),
    Situation("rail", "My delay repay claim was rejected for 'insufficient evidence'. I uploaded the ticket!", True,
              "Your delay claim was turned down for missing evidence even though you uploaded the ticket.",
              "I'll send the claim back for a second review with your ticket attached today.",
              "Was it a paper ticket or an e-ticket you uploaded?"),
    Situation("housing", "There's been damp in the bedroom for two months and my daughter has asthma. Nobody comes.", True,
              "There's been damp in the bedroom for two months, and with your daughter's asthma that's serious.",
              "I'll book a surveyor visit for this week and call you tomorrow with the time.",
              "Is the damp spreading around the window or on the outside wall?"),
    Situation("gym", "You took my membership fee again after I cancelled in March. I want it back.", True,
              "You cancelled in March but the membership fee has been taken again.",
              "I've cancelled the payment plan and I'll refund the April fee by Friday.",
              "Do you still have the cancellation email we sent you?"),
    Situation("hotel", "The room smelled of smoke and the shower didn't work. Worst stay of my life.", True,
              "Your room smelled of smoke and the shower didn't work during your stay.",
              "I'll refund the first night and ask the manager to call you before the weekend.",
              "Which room number were you in?"),
    Situation("car hire", "You're charging me £400 for a scratch that was there when I picked the car up.", True,
              "You've been billed £400 for a scratch you say was already there at collection.",
              "I'll put the charge on hold and check the collection photos by Thursday.",
              "Did you take any photos when you collected the car?"),
    Situation("water", "Hello, my water bill seems high this quarter, could someone check the reading?", False,
              "This quarter's water bill looks higher than usual and you'd like the reading checked.",
              "I'll ask for a meter reading to be taken this week and send you a corrected bill if it's wrong.",
              "Could you let me know the number on the meter today?"),
    Situation("ticketing", "My concert tickets were cancelled as 'suspicious'. I bought them with my own card!", True,
              "Your concert tickets were cancelled as suspicious even though you paid with your own card.",
              "I'll ask the fraud team to release the tickets today and email you when they're back.",
              "Was the card registered to the same address as the account?"),
    Situation("education", "My course account was locked for 'sharing' and my exam is on Friday.", True,
              "Your course account was locked for sharing, with your exam coming on Friday.",
              "I'll unlock the account now and ask the team to review the flag by tomorrow.",
              "Have you logged in from a new device recently?"),
    Situation("garage", "The car came back from the service with a new rattle and a warning light.", False,
              "The car came back from its service with a new rattle and a warning light on.",
              "I'll book it back in for Monday at no charge and arrange a courtesy car.",
              "Which warning light is showing on the dashboard?"),
    Situation("council", "The bins haven't been collected for three weeks and the street stinks. Pathetic.", True,
              "The bins on your street haven't been collected for three weeks.",
              "I'll send a crew round tomorrow and log a missed collection for your street.",
              "Is it the general waste or recycling that's been missed?"),
    Situation("mobile", "My new phone won't activate and I've been without a number for four days.", True,
              "Your new phone won't activate, so you've had no working number for four days.",
              "I'll push the activation through manually now and call you on it by 5 pm.",
              "Is the SIM the one that came in the box with the phone?"),
    Situation("removals", "Your movers broke my grandmother's mirror and just left.", True,
              "The movers broke your grandmother's mirror and left without saying anything.",
              "I'll start the damage claim today and have the manager call you tomorrow morning.",
              "Do you have a photo of the mirror as it is now?"),
    Situation("streaming", "Quick one: can I move my subscription to my partner's account?", False,
              "You'd like to move your subscription over to your partner's account.",
              "I'll send you the transfer link by email in the next few minutes.",
              "Does your partner already have an account with us?"),
    Situation("furniture", "The wardrobe was due three weeks ago. I took two days off work for nothing.", True,
              "Your wardrobe is three weeks late and you lost two days off work waiting in.",
              "I'll confirm a fixed delivery date by tomorrow and refund the delivery charge.",
              "Would a Saturday morning slot suit you better?"),
    Situation("pharmacy", "Hi, is there any news on the order I placed last Tuesday?", False,
              "You're checking on the order you placed last Tuesday.",
              "I'll chase the warehouse now and email you the tracking link this afternoon.",
              "Is the order number the one starting with 44?"),
)

NAMES: Final = ("Sam", "Priya", "Tom", "Aisha", "Marek", "Jo", "Chen", "Lucia", "Dev", "Fiona",
                "Kwame", "Hannah", "Olu", "Rosa", "Ben")

OPENINGS: Final = (
    "Hi {name},", "Hello {name},", "Dear {name},", "Hey {name},", "Good morning,",
    "Hi there,", "Dear Customer,", "Hello again,", "Hiya,", "Good afternoon {name},",
    "Dear Sir or Madam,", "Hi,", "Morning {name},", "Greetings,", "Hello,",
)
SIGNOFFS: Final = (
    "Kind regards,\n{agent}", "Best,\n{agent}", "Regards,\nCustomer Care", "Cheers, {agent}",
    "Warm regards,\nThe Support Team", "-- {agent}", "Best wishes,\n{agent}",
    "Yours sincerely,\n{agent}", "Take care,\n{agent}", "Speak soon, {agent}",
)
AGENTS: Final = ("Alex", "Nadia", "Rob", "Meera", "Gus", "Tess", "Ilya", "Zoe", "Kit", "Omar")

# Interjections put in front of a bad or a clean sentence alike, so none marks either.
LEADS: Final = ("Look, ", "Honestly, ", "Well, ", "To be fair, ", "Okay, ", "So, ", "Right, ",
                "Just so you know, ", "Again, ", "Listen, ")

APOLOGIES: Final = (
    "I'm sorry about this.", "Sorry for the wait.", "I'm really sorry for the trouble this has caused.",
    "Apologies for the mix-up.", "We're sorry this went wrong.", "So sorry about that!",
    "Sorry bout that!", "We are very sorry for the problem you have.", "Please accept our apologies.",
    "I'm sorry we've made this so hard.", "My apologies for the delay in getting back to you.",
    "Really sorry, this isn't the service we want to give.", "Sorry, that's not good enough from us.",
    "I apologise for the inconvenience.", "Sorry for all the back and forth.",
)
EMPATHY: Final = (
    "That sounds exhausting.", "I can imagine how annoying that is.",
    "That's a horrible way to start the week.", "I'd be frustrated too in your position.",
    "It must be stressful not knowing what's happening.", "That's a lot to deal with on top of everything else.",
    "I can see why you're upset.", "It's worrying when something like this drags on.",
    "Nobody wants to spend their evening chasing this.", "That must have been really disappointing.",
)
# Bare acknowledgements: hollow_sympathy when they are the only empathy.
HOLLOW: Final = (
    "I understand.", "I hear you.", "I get it.", "I understand your frustration.",
    "I sympathise.", "Understood.", "I understand your concern.", "I hear your frustration.",
    "I can understand.", "I know.",
)

# Bad sentences by rule. [brackets] mark the finding's span when it is shorter than the sentence.
BAD: Final[dict[str, tuple[str, ...]]] = {
    "insult": (
        "Honestly, [people like you are the reason we keep the call recording on].",
        "A bit of common sense would have saved us both this conversation.",
        "Some customers just can't be helped, and you're one of them.",
        "Maybe try reading the email before firing off another one.",
        "I've met toddlers with better manners.",
        "You're clearly not the sharpest tool in the box.",
        "It must be hard going through life with that attention span.",
        "No wonder nobody at your office answers your calls.",
        "I can see why the last agent gave up on you.",
        "Talking to you is like explaining colours to a wall.",
        "Your spelling tells me everything I need to know.",
        "Not everyone is cut out for online banking, clearly.",
        "Perhaps ask someone who can read to look at the letter for you.",
        "u r honestly the worst customer ive had all week",
        "What a rude little man you are.",
        "You are the kind of person who complains in every shop.",
        "Is thinking before typing too much to ask from you?",
        "Your brain must be on holiday today.",
        "We both know you aren't exactly a genius with technology.",
        "You are very slow person, I think.",
        "Kindly note that your conduct is frankly pathetic.",
        "lol did ur mum set up this account for u",
        "Anyone with half a brain would have found the button.",
        "You sound like the type who loses their keys every morning.",
        "Grow up.",
        "You're an embarrassment, to be honest.",
        "I'd expect this from a child, not a grown adult.",
        "It's a wonder you manage to dress yourself in the mornings.",
        "People like you make this job miserable.",
        "Clearly reading isn't one of your talents.",
    ),
    "sarcasm": (
        "Oh wonderful, another five-paragraph essay about a parcel.",
        "Congratulations, you've discovered the refund button at last.",
        "Sure, because we love nothing more than losing bags on purpose.",
        "Well done for noticing after only three months.",
        "What a shock, the router works when it's plugged in.",
        "I'm sure you checked every single cupboard, twice.",
        "Oh no, a one-star review, however will we survive.",
        "Brilliant detective work there.",
        "Yes, clearly the whole company exists to ruin your holiday.",
        "Thanks so much for the lecture, very educational.",
        "Amazing how the meter only ever reads wrong for you.",
        "Gosh, a whole twenty minutes on hold, how did you endure it.",
        "Lovely, another customer who knows our systems better than we do.",
        "Oh, I do apologise for the universe not revolving around your delivery slot.",
        "Great plan, ignoring the emails and then ringing up to shout.",
        "Wow, a loose cable, call the newspapers.",
        "Of course, the dog must have eaten the confirmation email.",
        "Riiight, and the cheque is in the post too.",
        "ya sure u were home all day lol",
        "Fantastic, so it fixed itself the moment you rang.",
        "Shocking news: terms and conditions apply.",
        "Bravo on finding the one typo in our letter.",
        "Ah yes, the famous 'urgent' request, our fourth this week.",
        "How dreadful for you, having to press a button twice.",
        "Very brave of you to say all that from behind a keyboard.",
        "Such a pleasure hearing from you again, as always.",
        "Yes, we're all just sitting here eating biscuits instead of fixing your boiler.",
        "Is very funny, every month you have the same 'emergency'.",
        "Hats off to you for finding a new way to break it.",
        "Thank you ever so much for your patience, which I can tell is endless.",
    ),
    "condescension": (
        "Let me explain this very slowly so it sinks in.",
        "As I have already said twice, the form is on the website.",
        "It's really not that complicated, the button is green.",
        "I'll use small words: the money comes back in five days.",
        "This is basic stuff that most people pick up straight away.",
        "For the third time, the code is on the back of the card.",
        "I would have thought this was obvious, but here goes.",
        "Just so we're clear, since it seems to be confusing you, a direct debit is not a refund.",
        "Bless you for trying, but that's not how meters work.",
        "If you had read my previous reply, you'd know the answer already.",
        "It's all explained on page one, which I assume you skipped.",
        "Sweetie, the app only updates overnight.",
        "Let's go back to basics, shall we.",
        "Not to state the obvious, but the charger has to be switched on at the wall.",
        "I appreciate technology isn't for everyone.",
        "Try to follow along this time.",
        "As anybody who has ever flown could tell you, big bags go in the hold.",
        "pls read my last msg again, its all there",
        "Kindly refer to my previous correspondence, wherein this was clearly set out.",
        "Simply put, for your benefit: no ticket, no refund.",
        "Okay, deep breath, let me walk you through it like it's your first day.",
        "It's honestly a two-second job if you look properly.",
        "I did spell it out quite clearly in the email.",
        "Is very simple process, I explain again one more time.",
        "Good try, but that's not quite how insurance works, is it.",
        "You'll get there eventually.",
    ),
    "blame": (
        "You must have typed the postcode wrong when you ordered.",
        "If you'd read the confirmation, you would have seen the date.",
        "That's on you for not updating the card details.",
        "The problem started when you changed the settings yourself.",
        "You didn't attach the receipt, so nothing could happen.",
        "Customers who don't check their spam folder always end up here.",
        "Had you called us before the deadline, this wouldn't have happened.",
        "You chose the cheapest fare, and it comes with no changes.",
        "You left the meter reading box blank for six months.",
        "It's the tenant's job to report a leak straight away.",
        "Your router was set up incorrectly from day one.",
        "This is what happens when people ignore the reminder emails.",
        "You should have kept the original packaging.",
        "The booking went wrong because you entered the wrong date.",
        "Most sensible travellers check their passport expiry.",
        "u forgot to click confirm thats why",
        "It was your responsibility to cancel before the renewal.",
        "The account got locked after you guessed the password five times.",
        "You were not at home when the driver came, so it went back.",
        "If you don't read the terms, you can't complain about them.",
        "The damage looks like it happened after you unpacked it.",
        "You gave us the old address, so the letter went there.",
        "You are making the mistake with the form, not our system.",
        "Regrettably, the omission of the required documents on your part caused the delay.",
        "Drivers who bring cars back late get charged, simple as that.",
        "You didn't follow the setup guide properly.",
        "The fee came from your own late payment.",
        "Whoever set the thermostat to holiday mode, it wasn't us.",
    ),
    "arguing": (
        "That's simply not true, the engineer was there at ten.",
        "No, you didn't call three times, our log shows one call.",
        "I don't accept that the parcel was damaged when it arrived.",
        "Our system doesn't lie: the payment never went through.",
        "With respect, you're wrong about the price you were quoted.",
        "I find that very hard to credit.",
        "That's not what happened at all.",
        "The driver's photo proves it was delivered, end of discussion.",
        "Actually, the room was cleaned that morning.",
        "I really doubt you were kept waiting two hours.",
        "Nope, there was no outage in your area.",
        "I'm afraid your version doesn't match the facts.",
        "The recording says otherwise.",
        "We never promised a refund, whatever you were told.",
        "it was def delivered, says so right here",
        "That is not correct information you are giving.",
        "I must respectfully disagree with your account of events.",
        "You did agree to the upgrade, I can hear you saying yes.",
        "Come on, the fridge wasn't broken when it left us.",
        "There is no way the bill doubled overnight.",
        "Our engineer is very experienced and would not have made that mistake.",
        "The figures you quote are just wrong.",
        "It's not a scam, it's a perfectly normal charge.",
        "Your claim that nobody replied isn't accurate; we replied on the 4th.",
        "I've checked and, no, it wasn't us.",
        "Sorry, but that's nonsense.",
    ),
    "refusing_ownership": (
        "That's not something I deal with.",
        "You'll have to take that up with the courier.",
        "I only handle sales, not complaints.",
        "Nothing I can do, it's the bank's decision.",
        "That's for the landlord to sort out, not us.",
        "Not my department, I'm afraid.",
        "The manufacturer handles faults, so contact them.",
        "It's out of my hands now.",
        "I just answer the chat, I can't see refunds.",
        "The airport lost the bag, not us, so ring them.",
        "We're only the booking platform; the hotel is responsible.",
        "Try the council, it's their bins.",
        "I don't have the access for that, sorry.",
        "Someone else dealt with your case, so I can't comment.",
        "not my call mate, speak to the store",
        "This matter is outside the remit of this team.",
        "Is other department, I cannot do nothing.",
        "Our partner runs the deliveries, it's between you and them.",
        "That's IT's job, not customer services'.",
        "I wasn't on shift when it happened.",
        "The franchise sets its own rules, we can't get involved.",
        "I'm just the messenger here.",
    ),
    "dismissing_emotion": (
        "There's no need to get so worked up.",
        "Please calm down so I can help you.",
        "It's just a late parcel, it's not the end of the world.",
        "Let's not be dramatic about a twenty-pound charge.",
        "You're overreacting a bit.",
        "Relax, it's only a phone bill.",
        "I won't help until you stop shouting.",
        "Take a breath, it's honestly not a big deal.",
        "Try not to take it so personally.",
        "chill its just a delay",
        "Getting emotional will not make this faster.",
        "Let's keep some perspective, it's a coffee machine.",
        "Please do not be so angry, it is small problem.",
        "I would encourage you to moderate your emotional response.",
        "Worse things happen at sea.",
        "Cheer up, it's only a missed flight.",
        "There's really nothing to panic about.",
        "I think you're making a mountain out of a molehill.",
        "Try to look on the bright side.",
        "Don't stress, these things happen.",
    ),
    "policy_hiding": (
        "That's company policy, I'm afraid.",
        "Our terms don't allow refunds after 14 days.",
        "Rules are rules.",
        "Per our guidelines, this cannot be changed.",
        "The system won't let me override the fee.",
        "Under clause 9 of your agreement, the charge stands.",
        "It's standard procedure, so there's nothing to discuss.",
        "We're not allowed to do that.",
        "As per our terms and conditions, claims must be made within 48 hours.",
        "Head office rules say no.",
        "That's just how our billing works.",
        "It's in the small print you agreed to.",
        "policy is policy sorry",
        "In accordance with our procedures, the request is declined.",
        "Is company rule, I cannot change.",
        "Our fair use terms say you've gone over.",
        "We don't make exceptions, full stop.",
        "The booking conditions are very clear on this.",
        "The process is the process.",
        "I can only go by what the handbook says.",
    ),
    "threat_back": (
        "I'd think carefully about your next message.",
        "Keep this up and your account will be closed.",
        "We can always pass this to our debt recovery team.",
        "One more message like that and I'll have you banned from the store.",
        "Carry on and we'll be speaking to the police.",
        "Our legal team would be very interested in that message.",
        "I've made a note on your file, and every agent will see it.",
        "You might want to remember we have your home address.",
        "I'd be careful, accounts like yours get reviewed.",
        "Don't be surprised if your next claim takes a lot longer.",
        "People who talk like that tend to find their orders cancelled.",
        "Push me and see what happens.",
        "Your tenancy could be reviewed if this behaviour continues.",
        "keep going and ur account is gone",
        "Please be advised that further correspondence of this nature will be forwarded to our solicitors.",
        "If you write like this again, I will make sure you never get refund.",
        "We know where to find you if the balance isn't paid.",
        "You don't want to be on the wrong side of our fraud team.",
        "Remember the call is recorded, and we do act on recordings.",
        "I can make this very slow for you if you like.",
        "It would be a shame if your booking just disappeared.",
        "Another outburst and you'll be flagged on every system we have.",
    ),
    "command": (
        "You need to send the photos again today.",
        "You have to fill in the form before we do anything.",
        "Reset the router and stop messaging.",
        "You must bring the receipt in person.",
        "Send me the order number right now.",
        "You will need to ring the other line tomorrow.",
        "Just wait for the email like everyone else.",
        "Read the instructions and try again.",
        "You should submit the claim again through the portal.",
        "pls just restart it and tell me",
        "You are required to provide proof of address.",
        "You must to send the passport copy.",
        "Stop emailing and wait.",
        "You've got to unplug everything first.",
        "Fill in the returns label and post it back.",
        "Be patient.",
        "You need to log out and log in again.",
        "Go to the branch with your ID.",
        "Take the meter reading and send it to us.",
        "You have to pay the balance before we can talk about it.",
    ),
}
# Commands that do not move the problem forward (they do not count as a next step).
IDLE_COMMANDS: Final = frozenset({
    "Reset the router and stop messaging.", "Just wait for the email like everyone else.",
    "Stop emailing and wait.", "Be patient.",
})

# Clean sentences that look like the bad ones (second person, "you're right", policy with a
# reason, boundaries under an abuse policy, records that agree ...), with their techniques.
CLEAN: Final = (
    ("You're right, the charge shouldn't have been taken.", ""),
    ("You're absolutely right, and I should have spotted that earlier.", ""),
    ("There's nothing you need to do on your side.", ""),
    ("All you'd need is the order number, whenever it's handy.", ""),
    ("If it's easier, you can upload the photos from the app.", ""),
    ("The fault is on our side, not yours.", ""),
    ("That's our mistake, not yours.", ""),
    ("Because you've been with us for years, I've waived the fee.", "ownership next_step"),
    ("Great that you kept the receipt, it makes this much quicker.", ""),
    ("I can't continue the chat if the insults carry on, but I'm here and I want to sort this.", ""),
    ("I'm happy to keep helping, though I'll need us to keep it civil.", ""),
    ("We ask that conversations stay respectful, and I'm still here to help.", ""),
    ("We ask for photos because it lets the insurer pay you faster.", ""),
    ("We charge for changes because it keeps fares low, but here's what I can do.", ""),
    ("Billing is a different team, but I'll bring them into this chat and stay with you.", "ownership next_step"),
    ("That must have been really frightening.", "empathy"),
    ("I'd be fuming too if my heating went off in January.", "empathy"),
    ("I completely get why you're upset after three missed visits.", "empathy"),
    ("I'm so sorry, that should never have happened.", "apology"),
    ("I'm really sorry we let you down again.", "apology"),
    ("Apologies, that one's on us.", "apology"),
    ("Honestly, you've been more patient than we deserved.", ""),
    ("Thanks for sticking with us through this.", "thanks"),
    ("Thank you for sending the screenshots, they help a lot.", "thanks"),
    ("The logs show your line dropped at 7pm, which matches what you said.", ""),
    ("You should have had it by now, and I'm sorry it isn't there.", "apology"),
    ("You don't have to pay anything until this is sorted.", ""),
    ("You won't need to ring back, I'll call you.", "ownership next_step"),
    ("No need to apologise at all, it's a fair question.", ""),
    ("It's a fair point, and I'd have asked the same.", ""),
    ("To be clear, this was our error.", ""),
    ("Take your time, there's no rush on your side.", ""),
    ("Things at the warehouse aren't in my control, but I'll email them today and chase it.", "ownership next_step"),
    ("I'll keep this short so you can get on with your evening.", ""),
    ("The short version: you'll get the full amount back.", ""),
    ("If anything looks off, just reply to this email.", ""),
    ("You can reset the password from the login page whenever suits you.", ""),
    ("A restart usually clears this, but since it hasn't, I'll book a visit.", "ownership next_step"),
    ("It's completely understandable that you'd want this in writing.", "empathy"),
    ("Happy to explain it again, it's genuinely confusing.", ""),
    ("We got this wrong, and I'm not going to argue about it.", ""),
    ("We are very sorry for this situation, it is our fault.", "apology"),
    ("Please, no need to send again, I have all documents.", ""),
    ("no worries at all, ur right, that shouldnt have happened", ""),
    ("thx so much for ur patience!!", "thanks"),
    ("Please accept our sincere apologies for the inconvenience caused.", "apology"),
    ("Kindly let me know a convenient time and I will arrange the visit.", ""),
    ("Ha, fair enough, I'd have been annoyed too!", "empathy"),
    ("After four weeks of this, your frustration is completely fair.", "empathy"),
    ("I'm not going to make you repeat yourself.", ""),
    ("Nothing about this is your fault.", ""),
    ("I'd rather over-explain than leave you guessing, so here's the detail.", ""),
    ("It clearly matters a lot, and I want to get it right.", "empathy"),
    ("Your message came through loud and clear, and it's fair.", ""),
    ("Good question, and it's one lots of people ask.", ""),
    ("You did everything right here.", ""),
    ("I checked your account, and the payment did go through on your side.", ""),
    ("Anyone would be annoyed by a bill like that.", "empathy"),
    ("Our terms say 14 days, but given what happened I'm happy to go beyond that.", ""),
    ("We keep call recordings for training, and I've asked for yours so I can hear what you were told.", ""),
    ("I'd think about whether the Saturday or Monday slot suits you better, either is fine.", ""),
    ("No rush at all, take a look when you're free.", ""),
    ("I won't close this case until you're happy with it.", ""),
    ("If you'd like, I can stay on the line while you try it.", ""),
    ("You're not the first to be caught out by this, and that's on us to explain better.", ""),
)
# fmt: on

_TXT_WORDS: Final = (
    (re.compile(r"\byou\b"), "u"),
    (re.compile(r"\byour\b"), "ur"),
    (re.compile(r"\bplease\b"), "pls"),
    (re.compile(r"\bthanks\b"), "thx"),
    (re.compile(r"\bbecause\b"), "cos"),
    (re.compile(r"\bto be honest\b"), "tbh"),
)


def chat_voice(text: str) -> str:
    """Lower case, no apostrophes, txt-speak; [brackets] survive."""
    out = text.lower().replace("'", "").replace("\u2019", "")
    for pattern, word in _TXT_WORDS:
        out = pattern.sub(word, out)
    return out


def in_fold(items: Sequence[Any], fold: int) -> list[tuple[int, Any]]:
    return [(index, item) for index, item in enumerate(items) if index % FOLDS == fold]


@dataclass
class Part:
    text: str  # may hold [brackets]
    piece: str
    labels: tuple[str, ...]  # avoid rules on the [span] or the whole sentence
    techniques: tuple[str, ...]  # techniques on the whole sentence


def _span(text: str) -> tuple[str, str]:
    """(plain text, span text): the bracketed part, else the sentence without final dot."""
    match = re.search(r"\[(.+?)\]", text)
    plain = text.replace("[", "").replace("]", "")
    if match:
        return plain, match.group(1)
    return plain, plain


def compose(index: int, rng: random.Random) -> dict[str, Any] | None:
    fold = (index - 1) % FOLDS
    situation_id, situation = rng.choice(in_fold(SITUATIONS, fold))
    chat = rng.random() < 0.35
    txt = chat and rng.random() < 0.5
    clean = rng.random() < CLEAN_SHARE
    parts: list[Part] = []
    pieces = [f"situation-{situation_id:02d}"]

    def pick(name: str, items: Sequence[Any], calm_ok: bool = False) -> tuple[str, Any]:
        choices = in_fold(items, fold)
        if calm_ok:  # a bare order to a calm customer is no command: keep "you need to ..."
            choices = [(n, item) for n, item in choices if "you" in item.lower()] or choices
        number, item = rng.choice(choices)
        piece = f"{name}-{number:02d}"
        pieces.append(piece)
        return piece, item

    def lead(text: str) -> str:
        if rng.random() < 0.15 and not text.startswith(
            ("u ", "lol", "ya ", "pls", "not ", "chill")
        ):
            _piece, word = pick("lead", LEADS)
            keep = text.startswith(("I ", "I'", "Is "))
            return str(word) + (text if keep else text[0].lower() + text[1:])
        return text

    good = 0.85 if clean else 0.45
    if not chat and rng.random() < 0.8:
        piece, opening = pick("opening", OPENINGS)
        parts.append(Part(opening.format(name=rng.choice(NAMES)), piece, (), ()))
    if rng.random() < good:
        piece, text = pick("apology", APOLOGIES)
        parts.append(Part(text, piece, (), ("apology",)))
    empathy = rng.random() < good * 0.7
    if empathy:
        piece, text = pick("empathy", EMPATHY)
        parts.append(Part(text, piece, (), ("empathy",)))
    elif rng.random() < 0.2:
        piece, text = pick("hollow", HOLLOW)
        parts.append(Part(text, piece, ("hollow_sympathy",), ()))
    if rng.random() < good * 0.7:
        parts.append(Part(situation.paraphrase, pieces[0], (), ("paraphrase",)))
    body: list[Part] = []
    if clean:
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2))):
            piece, (text, tags) = pick("clean", CLEAN)
            body.append(Part(lead(text), piece, (), tuple(tags.split())))
    else:
        rules = sorted(BAD)
        chosen = [rng.choice(rules)]
        if rng.random() < 0.25:
            second = rng.choice(rules)
            if second != chosen[0]:
                chosen.append(second)
        for rule in chosen:
            calm = rule == "command" and not situation.angry
            piece, text = pick(rule.replace("_", "-"), BAD[rule], calm_ok=calm)
            body.append(Part(lead(text), piece, (rule,), ()))
        if rng.random() < 0.4:
            piece, (text, tags) = pick("clean", CLEAN)
            body.insert(
                rng.randrange(len(body) + 1), Part(lead(text), piece, (), tuple(tags.split()))
            )
    parts.extend(body)
    if rng.random() < (0.95 if clean else good):
        parts.append(Part(situation.next_step, pieces[0], (), ("ownership", "next_step")))
    if rng.random() < good * 0.6:
        parts.append(Part(situation.question, pieces[0], (), ("question",)))
    signoff: str | None = None
    if not chat and rng.random() < 0.7:
        piece, text = pick("signoff", SIGNOFFS)
        signoff = text.format(agent=rng.choice(AGENTS))
    if not any(p.labels or p.techniques for p in parts):
        return None
    return _record(index, situation, parts, signoff, chat, txt, sorted(set(pieces)))


def _record(
    index: int,
    situation: Situation,
    parts: list[Part],
    signoff: str | None,
    chat: bool,
    txt: bool,
    pieces: list[str],
) -> dict[str, Any] | None:
    texts = [chat_voice(p.text) if txt else p.text for p in parts]
    plain = [_span(text) for text in texts]
    sentences = [sentence for sentence, _ in plain]
    # A chat line with no end punctuation ends the line.
    draft = "".join(
        s + ("" if i == len(sentences) - 1 else " " if s[-1] in ".!?," else "\n")
        for i, s in enumerate(sentences)
    )
    if not chat and len(sentences) > 1 and sentences[0].endswith(","):
        draft = draft.replace(sentences[0] + " ", sentences[0] + "\n\n", 1)
    if signoff:
        draft += "\n\n" + signoff
    findings: list[dict[str, str]] = []
    techniques = dict.fromkeys(TECHNIQUE_RULE, 0)
    for part, (sentence, span) in zip(parts, plain, strict=True):
        for rule in part.labels:
            findings.append({"rule": rule, "text": span})
        for technique in part.techniques:
            techniques[technique] = 1
            findings.append({"rule": TECHNIQUE_RULE[technique], "text": sentence})
    if techniques["empathy"]:
        findings = [f for f in findings if f["rule"] != "hollow_sympathy"]
    acknowledged = any(techniques[t] for t in ("apology", "empathy", "paraphrase")) or any(
        f["rule"] == "hollow_sympathy" for f in findings
    )
    forward = [
        sentence
        for part, (sentence, _) in zip(parts, plain, strict=True)
        if "next_step" in part.techniques
        or ("command" in part.labels and part.text not in IDLE_COMMANDS)
    ]
    if situation.angry and not acknowledged and forward:
        findings.append({"rule": "solution_before_acknowledgement", "text": forward[0]})
    if not forward:
        body = [s for s in sentences if not s.endswith(",")]
        if body:
            findings.append({"rule": "no_next_step", "text": body[-1]})
    for finding in findings:
        if draft.count(finding["text"]) != 1:
            return None
    blocking = any(f["rule"] in BLOCKING_RULES for f in findings)
    return {
        "id": f"k{index:04d}",
        "customer": situation.customer,
        "draft": draft,
        "findings": findings,
        "techniques": techniques,
        "blocking": blocking,
        "pieces": pieces,
    }


def compose_all(count: int = REPLIES, seed: int = SEED) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    seen: set[str] = set()
    index = 1
    while len(records) < count:
        record = compose(index, rng)
        if record is not None and record["draft"] not in seen:
            seen.add(record["draft"])
            records.append(record)
            index += 1
    return records


def render(records: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.write_text(render(compose_all()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
