//! Prints the in-memory sizes of the decoder's main types (kept small for the hot path).
fn main() {
    use std::mem::size_of;
    println!("Message {}", size_of::<ais::Message<'static>>());
    println!("PositionReport {}", size_of::<ais::msg::PositionReport>());
    println!("Sentence {}", size_of::<ais::nmea::Sentence<'static>>());
    println!("LineKind {}", size_of::<ais::nmea::LineKind<'static>>());
    println!("Meta {}", size_of::<ais::Meta>());
    println!("MeteoHydro {}", size_of::<ais::msg::MeteoHydro>());
    println!("StaticVoyage {}", size_of::<ais::msg::StaticVoyage>());
    println!("SafetyAddressed {}", size_of::<ais::msg::SafetyAddressed>());
}
