//! `#[derive(Tag)]`, `bool` and `Option<T: Tag>`: values, cardinality, indexes.

mod common;

use common::{Market, Method};
use event_runtime::Tag;

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    DeclinedByIssuer,
    #[tag(rename = "3ds/timeout")]
    ThreeDsTimeout,
    HTTPError,
}

#[test]
fn values_are_snake_case_unless_renamed() {
    assert_eq!(Outcome::Succeeded.value(), "succeeded");
    assert_eq!(Outcome::DeclinedByIssuer.value(), "declined_by_issuer");
    assert_eq!(Outcome::ThreeDsTimeout.value(), "3ds/timeout");
    assert_eq!(Outcome::HTTPError.value(), "http_error");
    assert_eq!(Method::ApplePay.value(), "apple-pay");
}

#[test]
fn cardinality_and_longest_value() {
    assert_eq!(Outcome::CARDINALITY, 4);
    assert_eq!(Outcome::MAX_VALUE_LEN, "declined_by_issuer".len());
    assert_eq!(bool::CARDINALITY, 2);
    assert_eq!(Option::<Market>::CARDINALITY, 4);
    assert_eq!(Option::<Market>::MAX_VALUE_LEN, 4);
    assert_eq!(Option::<Option<bool>>::CARDINALITY, 4);
}

fn all<T: Tag>() -> Vec<T> {
    (0..T::CARDINALITY)
        .map(|i| T::from_index(i).unwrap())
        .collect()
}

#[test]
fn index_and_from_index_are_inverse() {
    for value in all::<Outcome>() {
        assert_eq!(Outcome::from_index(value.index()), Some(value));
    }
    assert_eq!(Outcome::from_index(4), None);
    assert_eq!(all::<bool>(), [false, true]);
    assert_eq!(
        all::<Option<Market>>(),
        [None, Some(Market::Uk), Some(Market::Fr), Some(Market::It)]
    );
    assert_eq!(Option::<Market>::from_index(4), None);
}

#[test]
fn bool_and_option_values() {
    assert_eq!(true.value(), "true");
    assert_eq!(false.value(), "false");
    assert_eq!(None::<bool>.value(), "none");
    assert_eq!(Some(Market::It).value(), "it");
}

#[test]
fn every_generated_value_obeys_the_datagram_rules() {
    for value in all::<Outcome>()
        .iter()
        .map(Tag::value)
        .chain(all::<Method>().iter().map(Tag::value))
    {
        assert_eq!(event_names::check_tag_value(value), Ok(()), "{value}");
    }
}
