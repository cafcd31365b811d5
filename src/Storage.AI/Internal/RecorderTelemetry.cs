using System.Diagnostics.Metrics;

namespace Storage.AI.Internal;

/// <summary>The recorder's counters, on the same <c>Storage</c> meter as the store's.</summary>
internal static class RecorderTelemetry
{
    private static readonly Meter Meter = new(StorageTelemetry.MeterName);

    public static readonly Counter<long> Recorded = Meter.CreateCounter<long>(
        "storage.recorder.recorded", "{completion}", "Chat completions a recording chat client stored (or found already stored).");

    public static readonly Counter<long> Failed = Meter.CreateCounter<long>(
        "storage.recorder.failed", "{completion}", "Chat completions a recording chat client could not store; the calls themselves succeeded.");
}
