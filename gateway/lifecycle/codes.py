"""The lifecycle statuses of the reform and their codes, as data, in one place.

Sources (see ../shared/REGULATION.md §1): DSE-G v3.2 Tableau 8 for 200–213 and the mandatory
flags; DSE-CPRO tables and Akretion's l10n_fr_einvoicing for 214–228; A7 V1.9 for the rules
(G7.08 reason, G7.25 comment, G7.45 / BR-FR-CDV-14 amounts per VAT rate); the DGFiP CDAR
schematron shipped by `pyfrctc` (BR-FR-CDV-CL-05, -CL-09, -CL-10, -CL-11, -15) for the MDT-88
codes allowed per phase, the reason codes allowed per status and the amount type codes.

MDT-88 (UNTDID 1373): 200 → 10, 202 → 43, 203 → 48, 204 → 45, 205 → 1, 207 → 46, 211/212 → 47 as in
the FNFE-MPE example messages; 206, 208, 209, 210 from Akretion; 213 → 8 "Rejected" is inferred
(the only rejection code the schematron allows in the transmission phase).  201 has none: its
candidate (51) is outside the D22A code list of the CDAR XSD.
"""

from __future__ import annotations

from dataclasses import dataclass

# Party roles (UNCL 3035), as the CDAR message names them.
SELLER = "SE"
BUYER = "BY"
PLATFORM = "WK"  # a PA / PDP (plateforme agréée) or operator
PPF = "DFH"  # the public platform (concentrator)
FACTOR = "DL"
ROLES = {SELLER: "seller", BUYER: "buyer", PLATFORM: "platform", PPF: "PPF", FACTOR: "factor"}

# MDT-77: the phase of a status.  Transmission statuses are the platforms' (issuer role WK).
TRANSMISSION = "305"
PROCESSING = "23"


@dataclass(frozen=True)
class Status:
    """One lifecycle status: what it is called, who may emit it, and what it must carry."""

    code: str
    label: str  # French label (DSE-G), MDT-106
    label_en: str
    emitters: frozenset[str]  # roles that may emit it
    phase: str = PROCESSING  # MDT-77
    untdid_1373: str | None = None  # MDT-88
    mandatory: bool = False  # reported to the PPF (only 200, 210, 212, 213)
    needs_reason: bool = False  # MDT-113 required (A7 G7.08, BR-FR-CDV-15)
    needs_comment: bool = False  # MDT-126 required (A7 G7.25)
    needs_amounts: bool = False  # MEN amounts split by VAT rate (A7 G7.45, BR-FR-CDV-14)
    reasons: frozenset[str] | None = None  # the reason codes allowed (BR-FR-CDV-CL-09); None: any of REASONS
    terminal: bool = False  # ends the invoice's life
    side: bool = False  # a note on payment (factoring, payee account): recorded, but does not move the invoice along the cycle


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Reason codes allowed per status by the DGFiP CDAR schematron (BR-FR-CDV-CL-09; B2B lists).
_REFUSED_REASONS = _codes(
    "TX_TVA_ERR MONTANTTOTAL_ERR CALCUL_ERR NON_CONFORME DOUBLON DEST_ERR TRANSAC_INC EMMET_INC CONTRAT_TERM DOUBLE_FACT CMD_ERR ADR_ERR "
    "REF_CT_ABSENT"
)
_REJECTED_REASONS = _codes(
    "MONTANTTOTAL_ERR CALCUL_ERR DOUBLON DEST_INC ADR_ERR REJ_SEMAN REJ_UNI REJ_COH REJ_ADR REJ_CONT_B2G REJ_REF_PJ REJ_ASS_PJ"
)
_DISPUTED_REASONS = _codes(
    "AUTRE COORD_BANC_ERR TX_TVA_ERR MONTANTTOTAL_ERR CALCUL_ERR NON_CONFORME DOUBLON DEST_INC DEST_ERR TRANSAC_INC EMMET_INC CONTRAT_TERM "
    "DOUBLE_FACT CMD_ERR ADR_ERR SIRET_ERR CODE_ROUTAGE_ERR REF_CT_ABSENT REF_ERR PU_ERR REM_ERR QTE_ERR ART_ERR MODPAI_ERR QUALITE_ERR LIVR_INCOMP"
)
_PARTIAL_REASONS = _codes(
    "AUTRE CMD_ERR SIRET_ERR CODE_ROUTAGE_ERR REF_CT_ABSENT REF_ERR PU_ERR REM_ERR QTE_ERR ART_ERR MODPAI_ERR QUALITE_ERR LIVR_INCOMP"
)
_SUSPENDED_REASONS = _codes("JUSTIF_ABS COORD_BANC_ERR CMD_ERR SIRET_ERR CODE_ROUTAGE_ERR REF_CT_ABSENT REF_ERR")

_ALL = (
    Status("200", "Déposée", "Deposited", frozenset({PLATFORM}), TRANSMISSION, "10", mandatory=True, reasons=_codes("NON_TRANSMISE")),
    Status("201", "Émise par la plateforme", "Issued by the platform", frozenset({PLATFORM}), TRANSMISSION),
    Status("202", "Reçue par la plateforme", "Received by the platform", frozenset({PLATFORM}), TRANSMISSION, "43"),
    Status("203", "Mise à disposition", "Made available", frozenset({PLATFORM}), TRANSMISSION, "48"),
    Status("204", "Prise en charge", "Taken in hand", frozenset({BUYER}), untdid_1373="45"),
    Status("205", "Approuvée", "Approved", frozenset({BUYER}), untdid_1373="1"),
    Status("206", "Approuvée partiellement", "Partially approved", frozenset({BUYER}), untdid_1373="49", needs_reason=True, reasons=_PARTIAL_REASONS),
    Status("207", "En litige", "Disputed", frozenset({BUYER}), untdid_1373="46", needs_reason=True, reasons=_DISPUTED_REASONS),
    Status("208", "Suspendue", "Suspended", frozenset({BUYER}), untdid_1373="39", needs_reason=True, needs_comment=True, reasons=_SUSPENDED_REASONS),
    Status("209", "Complétée", "Completed", frozenset({SELLER}), untdid_1373="37"),
    Status(
        "210",
        "Refusée",
        "Refused",
        frozenset({BUYER}),
        untdid_1373="50",
        mandatory=True,
        needs_reason=True,
        needs_comment=True,
        reasons=_REFUSED_REASONS,
        terminal=True,
    ),
    Status("211", "Paiement transmis", "Payment sent", frozenset({BUYER, SELLER}), untdid_1373="47"),  # the seller for a refund
    Status("212", "Encaissée", "Collected", frozenset({SELLER}), untdid_1373="47", mandatory=True, needs_amounts=True),
    Status(
        "213",
        "Rejetée",
        "Rejected",
        frozenset({PLATFORM}),
        TRANSMISSION,
        "8",
        mandatory=True,
        needs_reason=True,
        reasons=_REJECTED_REASONS,
        terminal=True,
    ),
    Status("214", "Visée", "Stamped", frozenset({BUYER})),
    Status("220", "Annulée", "Cancelled", frozenset({SELLER}), terminal=True),
    Status("221", "Erreur de routage", "Routing error", frozenset({PLATFORM}), TRANSMISSION, reasons=_codes("ROUTAGE_ERR")),
    Status("224", "Demande de paiement direct", "Direct payment requested", frozenset({SELLER}), side=True),
    Status("225", "Affacturée", "Factored", frozenset({SELLER, FACTOR}), side=True),
    Status("226", "Affacturée confidentiel", "Factored (undisclosed)", frozenset({SELLER, FACTOR}), side=True),
    Status("227", "Changement de compte à payer", "Payee account changed", frozenset({SELLER}), side=True),
    Status("228", "Non affacturée", "Not factored", frozenset({SELLER, FACTOR}), side=True),
)

STATUSES: dict[str, Status] = {status.code: status for status in _ALL}
MANDATORY = frozenset(code for code, status in STATUSES.items() if status.mandatory)  # {200, 210, 212, 213}
TERMINAL = frozenset(code for code, status in STATUSES.items() if status.terminal)  # {210, 213, 220}

# What a party sets itself, through the API or the portal (the platform's statuses are the gateway's own); see `parties`.
PARTY_STATUSES = ("204", "205", "206", "207", "208", "209", "210", "211", "212")

# MDT-113: the motifs the DGFiP CDAR schematron accepts (BR-FR-CDV-CL-09, flow-level IRR_* left out), labelled from
# A7 V1.9 "Tableau des motifs de refus"; REJ_* are the PPF's and the platforms' rejection motifs (DSE-G Tableau 7,
# Akretion), whose short labels here are the gateway's.  A7 motifs the schematron refuses (FACT_NON_CONFORME, and the
# Chorus Pro ones it transcodes: CMD_EJ_ERR, MARCHE_TERM, MONTANT_ERR …) are not accepted.
REASONS: dict[str, str] = {
    "AUTRE": "Autre",
    "CONTACT_ACHTR": "Autres : contacter votre acheteur",
    "COORD_BANC_ERR": "Erreur de coordonnées bancaires",
    "DEST_ERR": "Erreur de destinataire",
    "DOUBLE_FACT": "Données réglementaires F1 en doublon",
    "CMD_ERR": "N° de commande incorrect ou manquant",
    "JUSTIF_ABS": "Justificatif absent ou insuffisant",
    "LIVR_INCOMP": "Livraison incomplète / non effectuée",
    "ST_CT_NON_DECLAR": "Sous-traitant / cotraitant non déclaré",
    "SUPPR_COMP_AVOIR": "Suppression pour compensation d'avoirs",
    "TRANSF_PMNT_REGIE": "Transfert pour paiement en régie",
    "RETRAIT_MAN_SERV": "Retrait manuel par le service",  # Chorus Pro (B2G)
    "TX_TVA_ERR": "Taux de TVA erroné",
    "ROUTAGE_ERR": "Erreur de routage",
    "CALCUL_ERR": "Erreur de calcul de la facture",
    "NON_CONFORME": "Mention légale manquante",
    "DEST_INC": "Destinataire inconnu",
    "TRANSAC_INC": "Transaction inconnue",
    "EMMET_INC": "Émetteur inconnu",
    "CONTRAT_TERM": "Contrat terminé",
    "ADR_ERR": "Adresse de facturation électronique erronée",
    "SIRET_ERR": "SIRET erroné ou absent",
    "CODE_ROUTAGE_ERR": "Code routage absent ou erroné",
    "REF_CT_ABSENT": "Référence contractuelle manquante",
    "REF_ERR": "Référence incorrecte",
    "PU_ERR": "Prix unitaire incorrect",
    "REM_ERR": "Remise incorrecte",
    "QTE_ERR": "Quantité incorrecte",
    "ART_ERR": "Article incorrect",
    "MODPAI_ERR": "Modalités de paiement incorrectes",
    "QUALITE_ERR": "Qualité d'article livré incorrecte",
    "DOUBLON": "Facture en doublon (déjà émise/reçue)",
    "MONTANTTOTAL_ERR": "Montant total erroné",
    "NON_TRANSMISE": "Destinataire non connecté",
    "REJ_SEMAN": "Format sémantique non respecté",
    "REJ_UNI": "Unicité non respectée",
    "REJ_COH": "Incohérence avec les données ou les référentiels",
    "REJ_ADR": "Contrôle d'adressage",
    "REJ_CONT_B2G": "Contrôle B2G",
    "REJ_REF_PJ": "Référence de pièce jointe",
    "REJ_ASS_PJ": "Association de pièce jointe",
}

# MDT-121: the action the emitter asks for (BR-FR-CDV-CL-10).
ACTIONS: dict[str, str] = {
    "NOA": "Aucune action",
    "PIN": "Information complémentaire",
    "NIN": "Créer une facture rectificative",
    "CNF": "Créer un avoir total",
    "CNP": "Créer un avoir partiel",
    "CNA": "Rembourser le paiement",
    "OTH": "Autre",
}

# MDT-207: the kind of a status amount or value (A7 G7.12, BR-FR-CDV-CL-11).
COLLECTED = "MEN"  # amount collected (incl. VAT), per VAT rate, on 212
PAID = "MPA"  # amount paid, on 211
AMOUNT_TYPES = frozenset({"MEN", "MPA", "RAP", "ESC", "RAB", "REM", "MAP", "MAPTTC", "MNA", "MNATTC", "CBB", "DIV", "DVA", "MAJ"})
AMOUNT_MAX_INTEGER_DIGITS = 13  # 19 positions of which at most 6 decimals (A7 G7.07)
AMOUNT_MAX_DECIMALS = 6


def status(code: str) -> Status:
    """The status of `code`; `KeyError` for a code the reform does not define."""
    return STATUSES[code]


def label(code: str) -> str:
    """The French label of a status code, or the code itself when unknown (e.g. the intake's "rejected")."""
    known = STATUSES.get(code)
    return known.label if known else code
