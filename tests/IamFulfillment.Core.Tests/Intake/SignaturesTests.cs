using System.Text;
using IamFulfillment.Core.Intake;

namespace IamFulfillment.Core.Tests.Intake;

public sealed class SignaturesTests
{
    // Jira: the test vector from Atlassian's webhook documentation (api-facts §2.2).
    private const string JiraSecret = "It's a Secret to Everybody";
    private const string JiraVector = "sha256=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9";
    private static readonly byte[] HelloWorld = Encoding.UTF8.GetBytes("Hello World!");

    // ServiceNow: CertificateEncryption.generateMac takes a base64 key and returns a base64 MAC over
    // timestamp + "." + delivery + "." + body. The expected MAC was computed outside .NET (Python hmac).
    private static readonly byte[] SnKey = Convert.FromBase64String("c2VjcmV0LWtleS1mb3ItdGVzdHM=");
    private static readonly byte[] SnOldKey = Encoding.UTF8.GetBytes("the-previous-key");
    private const string SnTimestamp = "1795694400";
    private const string SnDelivery = "6f1c2d3e-4a5b-4c6d-8e7f-001122334455";
    private const string SnExpected = "ABvJwnNyjLLD7WGUQCNX4MCfBr+9X3TRQRCBJSkdsHk=";
    private static readonly byte[] SnBody = Encoding.UTF8.GetBytes("""{"sys_id":"9d385017c611228701d22104cc95c371","table":"sc_req_item"}""");

    [Fact]
    public void Jira_AtlassianTestVector_IsValid()
    {
        Assert.Equal(JiraVector, Signatures.SignJira(JiraSecret, HelloWorld));
        Assert.Equal(SignatureCheck.Valid, Signatures.VerifyJira([JiraSecret], JiraVector, HelloWorld));
    }

    [Fact]
    public void Jira_UpperCaseHexAndSurroundingSpace_AreStillValid() =>
        Assert.Equal(SignatureCheck.Valid, Signatures.VerifyJira([JiraSecret], " SHA256=" + JiraVector[7..].ToUpperInvariant() + " ", HelloWorld));

    [Fact]
    public void Jira_TamperedBody_ReturnsMismatch() =>
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyJira([JiraSecret], JiraVector, Encoding.UTF8.GetBytes("Hello World?")));

    [Fact]
    public void Jira_WrongSecret_ReturnsMismatch() =>
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyJira(["It's a secret to everybody"], JiraVector, HelloWorld));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Jira_NoSignature_ReturnsMissingSignature(string? header) =>
        Assert.Equal(SignatureCheck.MissingSignature, Signatures.VerifyJira([JiraSecret], header, HelloWorld));

    [Theory]
    [InlineData("a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9")]
    [InlineData("sha1=a4771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9")]
    [InlineData("sha256=a4771c39")]
    [InlineData("sha256=zz771c39fbe90f317c7824e83ddef3caae9cb3d976c214ace1f2937e133263c9")]
    public void Jira_MalformedSignature_ReturnsMismatch(string header) =>
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyJira([JiraSecret], header, HelloWorld));

    [Fact]
    public void Jira_NoSecretConfigured_FailsClosed() =>
        Assert.Equal(SignatureCheck.SecretNotConfigured, Signatures.VerifyJira([], JiraVector, HelloWorld));

    [Fact]
    public void Jira_SecondSecretDuringRotation_IsAccepted() =>
        Assert.Equal(SignatureCheck.Valid, Signatures.VerifyJira(["the-new-secret", JiraSecret], JiraVector, HelloWorld));

    [Fact]
    public void Jira_EmptySecret_IsNotAConfiguredSecret() =>
        Assert.Equal(SignatureCheck.SecretNotConfigured, Signatures.VerifyJira([""], Signatures.SignJira("", HelloWorld), HelloWorld));

    [Fact]
    public void ServiceNow_MatchesGenerateMacComputedElsewhere()
    {
        Assert.Equal(SnExpected, Signatures.SignServiceNow(SnKey, SnTimestamp, SnDelivery, SnBody));
        Assert.Equal(SignatureCheck.Valid, Signatures.VerifyServiceNow([SnKey], SnExpected, SnTimestamp, SnDelivery, SnBody));
    }

    [Fact]
    public void ServiceNow_SignThenVerify_RoundTrips()
    {
        var body = Encoding.UTF8.GetBytes("""{"sys_id":"0123456789abcdef0123456789abcdef","table":"sc_req_item"}""");
        var signature = Signatures.SignServiceNow(SnKey, "1795694460", "delivery-2", body);
        Assert.Equal(SignatureCheck.Valid, Signatures.VerifyServiceNow([SnKey], signature, "1795694460", "delivery-2", body));
    }

    [Fact]
    public void ServiceNow_TamperedBody_ReturnsMismatch()
    {
        var tampered = Encoding.UTF8.GetBytes("""{"sys_id":"9d385017c611228701d22104cc95c372","table":"sc_req_item"}""");
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyServiceNow([SnKey], SnExpected, SnTimestamp, SnDelivery, tampered));
    }

    [Theory]
    [InlineData("1795694401", SnDelivery)]
    [InlineData(SnTimestamp, "6f1c2d3e-4a5b-4c6d-8e7f-001122334456")]
    public void ServiceNow_ReplayedWithAnotherTimestampOrDelivery_ReturnsMismatch(string timestamp, string delivery) =>
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyServiceNow([SnKey], SnExpected, timestamp, delivery, SnBody));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void ServiceNow_NoSignature_ReturnsMissingSignature(string? signature) =>
        Assert.Equal(SignatureCheck.MissingSignature, Signatures.VerifyServiceNow([SnKey], signature, SnTimestamp, SnDelivery, SnBody));

    [Theory]
    [InlineData("not base64!")]
    [InlineData("ABvJwnNy")]
    public void ServiceNow_MalformedSignature_ReturnsMismatch(string signature) =>
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyServiceNow([SnKey], signature, SnTimestamp, SnDelivery, SnBody));

    [Fact]
    public void ServiceNow_NoKeyConfigured_FailsClosed() =>
        Assert.Equal(SignatureCheck.SecretNotConfigured, Signatures.VerifyServiceNow([], SnExpected, SnTimestamp, SnDelivery, SnBody));

    [Fact]
    public void ServiceNow_SecondKeyDuringRotation_IsAccepted()
    {
        Assert.Equal(SignatureCheck.Valid, Signatures.VerifyServiceNow([SnOldKey, SnKey], SnExpected, SnTimestamp, SnDelivery, SnBody));
        Assert.Equal(SignatureCheck.Mismatch, Signatures.VerifyServiceNow([SnOldKey], SnExpected, SnTimestamp, SnDelivery, SnBody));
    }

    [Fact]
    public void ServiceNow_EmptyKey_IsNotAConfiguredKey() =>
        Assert.Equal(SignatureCheck.SecretNotConfigured,
            Signatures.VerifyServiceNow([[]], Signatures.SignServiceNow([], SnTimestamp, SnDelivery, SnBody), SnTimestamp, SnDelivery, SnBody));

    [Theory]
    [InlineData("1795694400", true)]
    [InlineData("0", true)]
    [InlineData("-1", false)]
    [InlineData("1795694400.5", false)]
    [InlineData("2026-11-26T12:00:00Z", false)]
    [InlineData("", false)]
    public void TryParseUnixSeconds_OnlyWholeNonNegativeSeconds(string text, bool ok) =>
        Assert.Equal(ok, Signatures.TryParseUnixSeconds(text, out _));
}
