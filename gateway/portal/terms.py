"""EN 16931 business terms (BT-) and groups (BG-) in plain words, in English and French.

A validation finding names the term it concerns ("BT-49"); a compliance officer reads
"Buyer electronic address".  English names are those of EN 16931-1; French names follow
its French edition (NF EN 16931-1).  Families that repeat per party (address, contact,
allowances and charges) are generated from one pattern each.  The lifecycle's reason codes
(MDT-113) have their official French labels in `codes.REASONS`; their English ones are here.
"""

from __future__ import annotations

from functools import cache

from gateway.lifecycle.codes import REASONS

_GROUPS = """
BG-1|Invoice note|Note de facture
BG-2|Process control|Contrôle du processus
BG-3|Preceding invoice reference|Référence à une facture antérieure
BG-4|Seller|Vendeur
BG-5|Seller postal address|Adresse postale du vendeur
BG-6|Seller contact|Contact du vendeur
BG-7|Buyer|Acheteur
BG-8|Buyer postal address|Adresse postale de l'acheteur
BG-9|Buyer contact|Contact de l'acheteur
BG-10|Payee|Bénéficiaire du paiement
BG-11|Seller tax representative|Représentant fiscal du vendeur
BG-12|Seller tax representative postal address|Adresse postale du représentant fiscal du vendeur
BG-13|Delivery information|Informations de livraison
BG-14|Invoicing period|Période de facturation
BG-15|Deliver-to address|Adresse de livraison
BG-16|Payment instructions|Instructions de paiement
BG-17|Credit transfer|Virement
BG-18|Payment card information|Informations sur la carte de paiement
BG-19|Direct debit|Prélèvement
BG-20|Document level allowances|Remises au niveau du document
BG-21|Document level charges|Charges au niveau du document
BG-22|Document totals|Totaux du document
BG-23|VAT breakdown|Ventilation de la TVA
BG-24|Additional supporting documents|Justificatifs additionnels
BG-25|Invoice line|Ligne de facture
BG-26|Invoice line period|Période de facturation de la ligne
BG-27|Invoice line allowances|Remises sur la ligne de facture
BG-28|Invoice line charges|Charges sur la ligne de facture
BG-29|Price details|Détails du prix
BG-30|Line VAT information|Informations de TVA de la ligne
BG-31|Item information|Informations sur l'article
BG-32|Item attributes|Attributs de l'article
"""

_TERMS = """
BT-1|Invoice number|Numéro de facture
BT-2|Invoice issue date|Date d'émission de la facture
BT-3|Invoice type code|Code de type de facture
BT-5|Invoice currency code|Code de devise de la facture
BT-6|VAT accounting currency code|Code de devise de comptabilisation de la TVA
BT-7|VAT point date|Date d'exigibilité de la TVA
BT-8|VAT point date code|Code de date d'exigibilité de la TVA
BT-9|Payment due date|Date d'échéance du paiement
BT-10|Buyer reference|Référence de l'acheteur
BT-11|Project reference|Référence du projet
BT-12|Contract reference|Référence du contrat
BT-13|Purchase order reference|Référence du bon de commande
BT-14|Sales order reference|Référence de la commande client
BT-15|Receiving advice reference|Référence de l'avis de réception
BT-16|Despatch advice reference|Référence de l'avis d'expédition
BT-17|Tender or lot reference|Référence de l'appel d'offres ou du lot
BT-18|Invoiced object identifier|Identifiant de l'objet facturé
BT-19|Buyer accounting reference|Référence comptable de l'acheteur
BT-20|Payment terms|Conditions de paiement
BT-21|Invoice note subject code|Code du sujet de la note
BT-22|Invoice note|Note de facture
BT-23|Business process type|Type de processus métier
BT-24|Specification identifier|Identifiant de spécification
BT-25|Preceding invoice reference|Référence de la facture antérieure
BT-26|Preceding invoice issue date|Date d'émission de la facture antérieure
BT-27|Seller name|Nom du vendeur
BT-28|Seller trading name|Nom commercial du vendeur
BT-29|Seller identifier|Identifiant du vendeur
BT-30|Seller legal registration identifier (SIREN)|Identifiant d'immatriculation légale du vendeur (SIREN)
BT-31|Seller VAT identifier|Numéro de TVA du vendeur
BT-32|Seller tax registration identifier|Identifiant d'enregistrement fiscal du vendeur
BT-33|Seller additional legal information|Informations juridiques complémentaires du vendeur
BT-34|Seller electronic address|Adresse électronique du vendeur
BT-44|Buyer name|Nom de l'acheteur
BT-45|Buyer trading name|Nom commercial de l'acheteur
BT-46|Buyer identifier|Identifiant de l'acheteur
BT-47|Buyer legal registration identifier (SIREN)|Identifiant d'immatriculation légale de l'acheteur (SIREN)
BT-48|Buyer VAT identifier|Numéro de TVA de l'acheteur
BT-49|Buyer electronic address|Adresse électronique de l'acheteur
BT-59|Payee name|Nom du bénéficiaire
BT-60|Payee identifier|Identifiant du bénéficiaire
BT-61|Payee legal registration identifier|Identifiant d'immatriculation légale du bénéficiaire
BT-62|Seller tax representative name|Nom du représentant fiscal du vendeur
BT-63|Seller tax representative VAT identifier|Numéro de TVA du représentant fiscal du vendeur
BT-70|Deliver-to party name|Nom du destinataire de la livraison
BT-71|Deliver-to location identifier|Identifiant du lieu de livraison
BT-72|Actual delivery date|Date effective de livraison
BT-73|Invoicing period start date|Date de début de la période de facturation
BT-74|Invoicing period end date|Date de fin de la période de facturation
BT-81|Payment means type code|Code du moyen de paiement
BT-82|Payment means text|Libellé du moyen de paiement
BT-83|Remittance information|Référence de paiement
BT-84|Payment account identifier (IBAN)|Identifiant du compte de paiement (IBAN)
BT-85|Payment account name|Nom du compte de paiement
BT-86|Payment service provider identifier (BIC)|Identifiant du prestataire de paiement (BIC)
BT-87|Payment card primary account number|Numéro de la carte de paiement
BT-88|Payment card holder name|Nom du titulaire de la carte
BT-89|Mandate reference identifier|Référence du mandat de prélèvement
BT-90|Bank assigned creditor identifier|Identifiant créancier SEPA
BT-91|Debited account identifier|Identifiant du compte débité
BT-106|Sum of invoice line net amounts|Somme des montants nets des lignes
BT-107|Sum of allowances on document level|Somme des remises au niveau du document
BT-108|Sum of charges on document level|Somme des charges au niveau du document
BT-109|Invoice total amount without VAT|Montant total hors TVA
BT-110|Invoice total VAT amount|Montant total de la TVA
BT-111|Invoice total VAT amount in accounting currency|Montant total de la TVA en devise de comptabilisation
BT-112|Invoice total amount with VAT|Montant total TVA comprise
BT-113|Paid amount|Montant déjà payé
BT-114|Rounding amount|Montant de l'arrondi
BT-115|Amount due for payment|Montant à payer
BT-116|VAT category taxable amount|Base imposable de la catégorie de TVA
BT-117|VAT category tax amount|Montant de TVA de la catégorie
BT-118|VAT category code|Code de catégorie de TVA
BT-119|VAT category rate|Taux de la catégorie de TVA
BT-120|VAT exemption reason text|Motif d'exonération de TVA
BT-121|VAT exemption reason code|Code du motif d'exonération de TVA
BT-122|Supporting document reference|Référence du justificatif
BT-123|Supporting document description|Description du justificatif
BT-124|External document location|Adresse du document externe
BT-125|Attached document|Document joint
BT-126|Invoice line identifier|Identifiant de la ligne
BT-127|Invoice line note|Note de la ligne
BT-128|Invoice line object identifier|Identifiant d'objet de la ligne
BT-129|Invoiced quantity|Quantité facturée
BT-130|Invoiced quantity unit of measure|Unité de mesure de la quantité facturée
BT-131|Invoice line net amount|Montant net de la ligne
BT-132|Referenced purchase order line|Référence de la ligne de commande
BT-133|Invoice line buyer accounting reference|Référence comptable de l'acheteur pour la ligne
BT-134|Invoice line period start date|Date de début de la période de la ligne
BT-135|Invoice line period end date|Date de fin de la période de la ligne
BT-146|Item net price|Prix net de l'article
BT-147|Item price discount|Rabais sur le prix de l'article
BT-148|Item gross price|Prix brut de l'article
BT-149|Item price base quantity|Quantité de base du prix
BT-150|Item price base quantity unit of measure|Unité de la quantité de base du prix
BT-151|Invoiced item VAT category code|Code de catégorie de TVA de l'article
BT-152|Invoiced item VAT rate|Taux de TVA de l'article
BT-153|Item name|Nom de l'article
BT-154|Item description|Description de l'article
BT-155|Item seller's identifier|Référence vendeur de l'article
BT-156|Item buyer's identifier|Référence acheteur de l'article
BT-157|Item standard identifier|Identifiant standard de l'article
BT-158|Item classification identifier|Code de classification de l'article
BT-159|Item country of origin|Pays d'origine de l'article
BT-160|Item attribute name|Nom de l'attribut de l'article
BT-161|Item attribute value|Valeur de l'attribut de l'article
"""

# (first BT of lines 1-2, city, post code, subdivision, country; BT of line 3), the party in both languages.
_ADDRESSES = (
    ((35, 162), "Seller", "du vendeur"),
    ((50, 163), "Buyer", "de l'acheteur"),
    ((64, 164), "Tax representative", "du représentant fiscal"),
    ((75, 165), "Deliver-to", "de livraison"),
)
_ADDRESS_PARTS = (
    ("address line 1", "Ligne 1 de l'adresse"),
    ("address line 2", "Ligne 2 de l'adresse"),
    ("city", "Ville"),
    ("post code", "Code postal"),
    ("country subdivision", "Subdivision du pays"),
    ("country code", "Code pays"),
)
_CONTACTS = ((41, "Seller", "du vendeur"), (56, "Buyer", "de l'acheteur"))
_CONTACT_PARTS = (("contact point", "Point de contact"), ("contact telephone", "Téléphone du contact"), ("contact e-mail", "E-mail du contact"))
# First BT of each allowance / charge family and its name in both languages.
_ALLOWANCES = (
    (92, "Document level allowance", "de la remise au niveau du document"),
    (99, "Document level charge", "de la charge au niveau du document"),
)
_ALLOWANCE_PARTS = (
    ("amount", "Montant"),
    ("base amount", "Assiette"),
    ("percentage", "Pourcentage"),
    ("VAT category code", "Code de catégorie de TVA"),
    ("VAT rate", "Taux de TVA"),
    ("reason", "Motif"),
    ("reason code", "Code du motif"),
)
_LINE_ALLOWANCES = ((136, "Invoice line allowance", "de la remise sur la ligne"), (141, "Invoice line charge", "de la charge sur la ligne"))
_LINE_ALLOWANCE_PARTS = tuple(part for i, part in enumerate(_ALLOWANCE_PARTS) if i not in (3, 4))  # no VAT on line allowances


def _parse(table: str) -> dict[str, tuple[str, str]]:
    return {key: (en, fr) for key, en, fr in (line.split("|") for line in table.strip().splitlines())}


@cache
def _names() -> dict[str, tuple[str, str]]:
    names = {**_parse(_GROUPS), **_parse(_TERMS)}
    for (first, line3), en_party, fr_party in _ADDRESSES:
        for offset, (en, fr) in enumerate(_ADDRESS_PARTS):
            names[f"BT-{first + offset}"] = (f"{en_party} {en}", f"{fr} {fr_party}")
        names[f"BT-{line3}"] = (f"{en_party} address line 3", f"Ligne 3 de l'adresse {fr_party}")
    for first, en_party, fr_party in _CONTACTS:
        for offset, (en, fr) in enumerate(_CONTACT_PARTS):
            names[f"BT-{first + offset}"] = (f"{en_party} {en}", f"{fr} {fr_party}")
    for families, parts in ((_ALLOWANCES, _ALLOWANCE_PARTS), (_LINE_ALLOWANCES, _LINE_ALLOWANCE_PARTS)):
        for first, en_name, fr_name in families:
            for offset, (en, fr) in enumerate(parts):
                names[f"BT-{first + offset}"] = (f"{en_name} {en}", f"{fr} {fr_name}")
    return names


def term_name(term: str | None, lang: str) -> str | None:
    """The plain name of "BT-49", "BG-23" or a sub-term like "BT-49-1" (its scheme identifier); None when unknown."""
    if not term:
        return None
    key = term.strip().upper()
    base, _, sub = key.partition("-")[2].partition("-")
    names = _names().get(f"{key[:2]}-{base}")
    if names is None:
        return None
    name = names[1] if lang == "fr" else names[0]
    if sub:
        name += " (identifiant du schéma)" if lang == "fr" else " (scheme identifier)"
    return name


# The reform's reason codes (MDT-113) in English; their French labels are the official ones in `codes.REASONS`.
_REASONS_EN = {
    "AUTRE": "Other",
    "CONTACT_ACHTR": "Other: contact your buyer",
    "COORD_BANC_ERR": "Wrong bank details",
    "DEST_ERR": "Wrong recipient",
    "DOUBLE_FACT": "F1 regulatory data sent twice",
    "CMD_ERR": "Purchase order number wrong or missing",
    "JUSTIF_ABS": "Supporting document missing or insufficient",
    "LIVR_INCOMP": "Delivery incomplete or not made",
    "ST_CT_NON_DECLAR": "Undeclared subcontractor or co-contractor",
    "SUPPR_COMP_AVOIR": "Withdrawn to offset credit notes",
    "TRANSF_PMNT_REGIE": "Transferred for payment by the cashier",
    "RETRAIT_MAN_SERV": "Withdrawn by hand by the department",
    "TX_TVA_ERR": "Wrong VAT rate",
    "ROUTAGE_ERR": "Routing error",
    "CALCUL_ERR": "Calculation error in the invoice",
    "NON_CONFORME": "Legal mention missing",
    "DEST_INC": "Unknown recipient",
    "TRANSAC_INC": "Unknown transaction",
    "EMMET_INC": "Unknown issuer",
    "CONTRAT_TERM": "Contract ended",
    "ADR_ERR": "Wrong electronic invoicing address",
    "SIRET_ERR": "SIRET wrong or missing",
    "CODE_ROUTAGE_ERR": "Routing code missing or wrong",
    "REF_CT_ABSENT": "Contract reference missing",
    "REF_ERR": "Wrong reference",
    "PU_ERR": "Wrong unit price",
    "REM_ERR": "Wrong discount",
    "QTE_ERR": "Wrong quantity",
    "ART_ERR": "Wrong item",
    "MODPAI_ERR": "Wrong payment terms",
    "QUALITE_ERR": "Wrong quality of the item delivered",
    "DOUBLON": "Duplicate invoice (already issued or received)",
    "MONTANTTOTAL_ERR": "Wrong total amount",
    "NON_TRANSMISE": "Recipient not connected",
    "REJ_SEMAN": "Semantic format not respected",
    "REJ_UNI": "Uniqueness not respected",
    "REJ_COH": "Inconsistent with the data or reference lists",
    "REJ_ADR": "Addressing check",
    "REJ_CONT_B2G": "B2G check",
    "REJ_REF_PJ": "Attachment reference",
    "REJ_ASS_PJ": "Attachment association",
}


def reason_name(code: str | None, lang: str) -> str:
    """A reason code's label: the official French one, or its English rendering; "" when unknown."""
    if not code:
        return ""
    return REASONS.get(code, "") if lang == "fr" else _REASONS_EN.get(code, REASONS.get(code, ""))
