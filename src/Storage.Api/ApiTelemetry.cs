using System.Diagnostics.Metrics;

namespace Storage.Api;

/// <summary>The API's own metrics, on the meter <c>Storage.Api</c>; the store's are on <c>Storage</c>.</summary>
internal static class ApiTelemetry
{
    public const string MeterName = "Storage.Api";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> ProxyStored = Meter.CreateCounter<long>(
        "storage.api.proxy.stored", "{completion}", "Proxied completions stored (or found already stored).");

    public static readonly Counter<long> ProxyStoreFailed = Meter.CreateCounter<long>(
        "storage.api.proxy.store_failed", "{completion}", "Proxied completions that could not be assembled or stored; the caller got the response regardless.");
}
