using System.Globalization;

namespace Storage.Internal;

/// <summary>
/// The public version of a stored completion: its row identity and PostgreSQL's xmin. The identity makes a version
/// read from one completion fail against another that has since been stored under the same vendor id.
/// </summary>
internal static class VersionToken
{
    public static string Format(long key, DateTimeOffset created, uint xmin) =>
        string.Create(CultureInfo.InvariantCulture, $"{unchecked((ulong)key):x16}.{created.ToUnixTimeSeconds()}.{xmin}");
}
