namespace IamFulfillment.Core.Model;

/// <summary>
/// Normalised request field names. Field maps (per ticket system, in configuration) translate catalog
/// variable names / custom field ids to these.
/// </summary>
public static class RequestFields
{
    public const string RequestType = "RequestType";
    public const string RequestedFor = "RequestedFor";
    public const string Entitlements = "Entitlements";
    public const string Justification = "Justification";
    public const string StartDate = "StartDate";
    public const string EndDate = "EndDate";
    public const string EffectiveDate = "EffectiveDate";
    public const string TerminationDate = "TerminationDate";
    public const string TimeZone = "TimeZone";
    public const string EmployeeNumber = "EmployeeNumber";
    public const string VerificationMethod = "VerificationMethod";
    public const string VerifiedBy = "VerifiedBy";
    public const string VerifiedAt = "VerifiedAt";
    public const string Reason = "Reason";

    /// <summary>Fields that hold a person (a reference to a user record), not text.</summary>
    public static readonly IReadOnlySet<string> PersonFields = new HashSet<string>(StringComparer.Ordinal)
    {
        RequestedFor,
        VerifiedBy,
    };

    /// <summary>Fields that hold a date or a date-time.</summary>
    public static readonly IReadOnlySet<string> DateFields = new HashSet<string>(StringComparer.Ordinal)
    {
        StartDate,
        EndDate,
        EffectiveDate,
        TerminationDate,
        VerifiedAt,
    };

    /// <summary>Every normalised field, text and person.</summary>
    public static readonly IReadOnlyList<string> All =
    [
        RequestType, RequestedFor, Entitlements, Justification, StartDate, EndDate, EffectiveDate,
        TerminationDate, TimeZone, EmployeeNumber, VerificationMethod, VerifiedBy, VerifiedAt, Reason,
    ];

    public static bool IsKnown(string name) => All.Contains(name, StringComparer.Ordinal);
}
