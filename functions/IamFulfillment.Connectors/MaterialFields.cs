using IamFulfillment.Core.Model;

namespace IamFulfillment.Connectors;

/// <summary>
/// The request fields whose change makes an earlier approval stale (design §4: the entitlement, the target, the
/// dates): what is asked for, for whom, and from and until when. Free text a requester improves after being asked
/// for more information (the justification, a reason) and MFA evidence are not: an approval given before such an
/// edit still covers the same access. Both ticket connectors read their audit history through this one list.
/// </summary>
public static class MaterialFields
{
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        RequestFields.RequestType,
        RequestFields.RequestedFor,
        RequestFields.Entitlements,
        RequestFields.StartDate,
        RequestFields.EndDate,
        RequestFields.EffectiveDate,
        RequestFields.TerminationDate,
        RequestFields.TimeZone,
        RequestFields.EmployeeNumber,
    };
}
