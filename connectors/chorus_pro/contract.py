"""The Chorus Pro / PISTE API contract, in one place: URLs, paths, headers, field names, codes and mappings.

Both the client (connectors.chorus_pro) and the loopback test server (tests/connectors/chorus_pro_server.py)
read their vocabulary from here, so a correction to the published contract is one edit.

Sources (see ../shared/REGULATION.md §4): PISTE OAuth2 and the `cpro-account` header — OCA l10n_fr_chorus_account
`res_company.py`; paths and JSON field names — antoine2116/go-choruspro (`factures_depots.go`,
`transverses_flux.go`, `factures_recherches.go`, `factures_consultations.go`, `structures_*.go`, `date.go`,
`pagination.go`); flow states — PhpChorusPiste `IStatus`; Chorus Pro → reform status mapping — DSE-CPRO §4.2
Tableaux 8-12 [P]. Items marked [U] are not confirmed by a primary source.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# ---------------------------------------------------------------------------- endpoints and authentication

ENVIRONMENTS: dict[str, dict[str, str]] = {
    "production": {
        "token_url": "https://oauth.piste.gouv.fr/api/oauth/token",
        "api_url": "https://api.piste.gouv.fr",
    },
    "sandbox": {
        "token_url": "https://sandbox-oauth.piste.gouv.fr/api/oauth/token",
        "api_url": "https://sandbox-api.piste.gouv.fr",
    },
}
TOKEN_PATH = "/api/oauth/token"  # path of the token URL, used by the loopback server
TOKEN_GRANT_TYPE = "client_credentials"
TOKEN_SCOPE = "openid"
ACCOUNT_HEADER = "cpro-account"  # base64("<technical login>:<password>"), UTF-8
CONTENT_TYPE = "application/json;charset=utf-8"

# ---------------------------------------------------------------------------- operations (POST, JSON in and out)

DEPOSER_FLUX = "/cpro/factures/v1/deposer/flux"
CONSULTER_CR_DETAILLE = "/cpro/transverses/v1/consulterCRDetaille"
RECHERCHER_FOURNISSEUR = "/cpro/factures/v1/rechercher/fournisseur"
CONSULTER_HISTORIQUE = "/cpro/factures/v1/consulter/historique"
RECHERCHER_STRUCTURE = "/cpro/structures/v1/rechercher"
CONSULTER_STRUCTURE = "/cpro/structures/v1/consulter"
RECHERCHER_SERVICES = "/cpro/structures/v1/rechercher/services"
RECUPERER_FORMAT_FLUX = "/cpro/transverses/v1/recuperer/formatflux"

# Fields common to every answer: codeRetour 0 = success; a business error comes back as HTTP 400 with both.
CODE_RETOUR = "codeRetour"
LIBELLE = "libelle"
SUCCESS_LIBELLE = "TRA_MSG_00.000"

# deposer/flux
F_FICHIER_FLUX = "fichierFlux"  # base64 of the file
F_NOM_FICHIER = "nomFichier"
F_SYNTAXE_FLUX = "syntaxeFlux"
F_AVEC_SIGNATURE = "avecSignature"
F_NUMERO_FLUX_DEPOT = "numeroFluxDepot"  # e.g. "CPP0011117000000000425903"
F_DATE_DEPOT = "dateDepot"

# consulterCRDetaille
F_ETAT_COURANT_DEPOT_FLUX = "etatCourantDepotFlux"
F_DATE_HEURE_ETAT_COURANT_FLUX = "dateHeureEtatCourantFlux"
F_LISTE_ERREUR_DP = "listeErreurDP"  # [{identifiantFournisseur, identifiantDestinataire, numeroDP, libelleErreurDP}]
F_LISTE_ERREUR_TECHNIQUE = "listeErreurTechnique"  # [{codeErreur, libelleErreur, …}] [U: inner field names]
F_NUMERO_DP = "numeroDP"
F_LIBELLE_ERREUR_DP = "libelleErreurDP"
F_IDENTIFIANT_DESTINATAIRE = "identifiantDestinataire"
F_IDENTIFIANT_FOURNISSEUR = "identifiantFournisseur"
F_LIBELLE_ERREUR = "libelleErreur"  # [U]
F_CODE_ERREUR = "codeErreur"  # [U]

# rechercher/fournisseur
F_ID_FOURNISSEUR = "idFournisseur"
F_NUMERO_FACTURE = "numeroFacture"
F_PERIODE_ETAT_COURANT_DU = "periodeDateHeureEtatCourantDu"
F_PAGINATION_FOURNISSEUR = "rechercheFactureParFournisseur"  # {nbResultatsParPage, pageResultatDemandee, triColonne, triSens}
F_NB_RESULTATS_PAR_PAGE = "nbResultatsParPage"
F_PAGE_DEMANDEE = "pageResultatDemandee"
F_LISTE_FACTURES = "listeFactures"  # [{identifiantFactureCPP, numeroFacture, numeroFluxDepot, statut, dateHeureEtatCourant, …}]
F_PARAMETRES_RETOUR = "parametresRetour"  # {nbResultatsParPage, pageCourante, pages, total}
F_PAGES = "pages"
F_PAGE_COURANTE = "pageCourante"
F_TOTAL = "total"
F_IDENTIFIANT_FACTURE_CPP = "identifiantFactureCPP"
F_STATUT = "statut"
F_DATE_HEURE_ETAT_COURANT = "dateHeureEtatCourant"
PAGE_SIZE = 100

# consulter/historique
F_ID_FACTURE = "idFacture"
F_STATUT_COURANT_CODE = "statutCourantCode"
F_HISTORIQUES_STATUTS = "historiquesDesStatuts"  # {histoStatut: [...], totalHistoStatut, …}
F_HISTO_STATUT = "histoStatut"
F_HISTO_STATUT_CODE = "histoStatutCode"
F_HISTO_STATUT_DATE = "histoStatutDatePassage"  # "YYYY-MM-DD HH:MM"
F_HISTO_STATUT_COMMENTAIRE = "histoStatutCommentaire"
F_HISTO_STATUT_ID = "histoStatutId"

# structures: rechercher {structure: {identifiantStructure, typeIdentifiantStructure}} → listeStructures[{idStructureCPP, …}];
# consulter {idStructure} → parametres{…}; rechercher/services {idStructure} → listeServices[{codeService, estActif, …}]
F_STRUCTURE = "structure"
F_IDENTIFIANT_STRUCTURE = "identifiantStructure"
F_TYPE_IDENTIFIANT_STRUCTURE = "typeIdentifiantStructure"
TYPE_IDENTIFIANT_SIRET = "SIRET"
F_LISTE_STRUCTURES = "listeStructures"
F_ID_STRUCTURE_CPP = "idStructureCPP"
F_ID_STRUCTURE = "idStructure"
F_PARAMETRES = "parametres"
P_CODE_SERVICE_OBLIGATOIRE = "codeServiceDoitEtreRenseigne"
P_ENGAGEMENT_OBLIGATOIRE = "numeroEJDoitEtreRenseigne"
P_ENGAGEMENT_OU_SERVICE = "gestionNumeroEJOuCodeService"
F_PAGINATION_SERVICES = "parametresRechercherServicesStructure"  # {nbResultatsParPage, pageResultatDemandee}
F_LISTE_SERVICES = "listeServices"
F_CODE_SERVICE = "codeService"
F_EST_ACTIF = "estActif"

# recuperer/formatflux
F_LISTE_FORMAT_FLUX = "listeFormatFlux"  # [{formatFlux}]
F_FORMAT_FLUX = "formatFlux"

# ---------------------------------------------------------------------------- codes

SYNTAXE_FLUX = {  # Envelope.kind → syntaxeFlux (REGULATION §4.3; OCA maps CII → E1_CII_16B, Factur-X → E2_CII_FACTURX)
    "ubl": "IN_DP_E1_UBL_INVOICE",
    "cii": "IN_DP_E1_CII_16B",
    "facturx": "IN_DP_E2_CII_FACTURX",
}

FLOW_INTEGRATED = frozenset({"IN_INTEGRE", "IN_INTEGRE_PARTIEL"})
FLOW_REJECTED = frozenset({"IN_REJETE", "IN_INCIDENTE"})  # IN_INCIDENTE treated as a rejection by one implementation [U]
FLOW_PENDING = frozenset({"IN_RECU", "IN_EN_ATTENTE_TRAITEMENT_CPP", "IN_EN_COURS_TRAITEMENT_CPP", "IN_EN_ATTENTE_RETRAITEMENT_CPP"})

# Chorus Pro invoice status (statut / histoStatutCode) → reform lifecycle code, DSE-CPRO §4.2 Tableau 8.
# The API returns the textual codes; the numeric codes of the DSE table are in the comments.
STATUS_TO_LIFECYCLE = {
    "DEPOSEE": "202",  # 01 Déposée → 202 Reçue par la plateforme
    "MISE_A_DISPOSITION": "203",  # 03 Mise à disposition du destinataire → 203 Mise à disposition
    "SUSPENDUE": "208",  # 06 Suspendue → 208 Suspendue
    "REJETEE": "210",  # 05 Rejetée (business error by the entity) → 210 Refusée
    "SERVICE_FAIT": "204",  # 07 Service fait → 204 Prise en charge
    "MANDATEE": "204",  # 08 Mandatée / DP validée → 204
    "MISE_A_DISPOSITION_COMPTABLE": "204",  # 09 Mise à disposition du comptable → 204
    "COMPTABILISEE": "204",  # 10 Comptabilisée → 204
    "MISE_EN_PAIEMENT": "211",  # 11 Mise en paiement → 211 Paiement transmis
}
LIFECYCLE_REJECTED_BY_PLATFORM = "213"  # a flow rejected by Chorus Pro's controls (IN_REJETE) = 213 Rejetée

# ---------------------------------------------------------------------------- limits and pre-send rules

MAX_FLUX_BYTES = 30 * 1024 * 1024  # DSE-CPRO §5.4.1 [P]
MAX_FILENAME = 50  # OCA, for attachments, citing the Chorus Pro community [S]
CREDIT_TRANSFER_MEANS = frozenset({"30", "31", "42", "58"})  # UNTDID 4461 codes for which Chorus Pro needs an IBAN [S] (+58 SEPA)

# ---------------------------------------------------------------------------- dates

PARIS = ZoneInfo("Europe/Paris")  # Chorus Pro times carry no zone; they are French local time [U]
_DATETIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


def parse_datetime(value: str) -> datetime:
    """A Chorus Pro date or date-time ("YYYY-MM-DD HH:MM" in histories, ISO 8601 elsewhere) as an aware datetime."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for fmt in _DATETIME_FORMATS:
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"not a Chorus Pro date: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PARIS)


def format_datetime(value: datetime) -> str:
    """A search bound as Chorus Pro expects it: ISO 8601 local French time, no zone [U]."""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M:%S")


def format_history_datetime(value: datetime) -> str:
    """The minute-resolution form used in consulter/historique (`histoStatutDatePassage`)."""
    return value.astimezone(PARIS).strftime("%Y-%m-%d %H:%M")
