use event_runtime::Tag;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Market { Uk, Fr, It }

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    #[tag(rename = "declined,retry")]
    Declined,
}
fn main() {}
