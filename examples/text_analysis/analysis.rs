//! The text analysis itself, free of telemetry: normalising sentences, DBSCAN over
//! embeddings, and a lexicon sentiment score.

/// Trims, lowercases and collapses whitespace; drops sentences left empty.
pub fn normalise(sentences: &[String]) -> Vec<String> {
    sentences
        .iter()
        .map(|s| {
            s.split_whitespace()
                .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
                .filter(|w| !w.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// DBSCAN with cosine distance: the cluster of each point, `None` for noise.
pub fn dbscan(points: &[Vec<f32>], eps: f32, min_points: usize) -> Vec<Option<usize>> {
    let distance = |a: &[f32], b: &[f32]| 1.0 - a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let neighbours = |i: usize| -> Vec<usize> {
        (0..points.len())
            .filter(|&j| distance(&points[i], &points[j]) <= eps)
            .collect()
    };
    let mut labels: Vec<Option<usize>> = vec![None; points.len()];
    let mut visited = vec![false; points.len()];
    let mut next = 0;
    for i in 0..points.len() {
        if visited[i] {
            continue;
        }
        visited[i] = true;
        let mut frontier = neighbours(i);
        if frontier.len() < min_points {
            continue;
        }
        labels[i] = Some(next);
        // Every point is queued at most once per cluster, so this ends.
        while let Some(j) = frontier.pop() {
            if labels[j].is_none() {
                labels[j] = Some(next);
            }
            if !visited[j] {
                visited[j] = true;
                let more = neighbours(j);
                if more.len() >= min_points {
                    frontier.extend(more.into_iter().filter(|&k| labels[k].is_none()));
                }
            }
        }
        next += 1;
    }
    labels
}

/// Positive, neutral and negative sentence counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Distribution {
    /// Sentences scoring above zero.
    pub positive: u32,
    /// Sentences scoring zero.
    pub neutral: u32,
    /// Sentences scoring below zero.
    pub negative: u32,
}

const POSITIVE: [&str; 8] = [
    "good",
    "great",
    "love",
    "fast",
    "helpful",
    "excellent",
    "easy",
    "happy",
];
const NEGATIVE: [&str; 8] = [
    "bad",
    "slow",
    "hate",
    "broken",
    "confusing",
    "crash",
    "poor",
    "late",
];

/// Scores each sentence by its lexicon words and counts the signs.
pub fn sentiment(sentences: &[String]) -> Distribution {
    let mut distribution = Distribution::default();
    for sentence in sentences {
        let score: i32 = sentence
            .split_whitespace()
            .map(|w| i32::from(POSITIVE.contains(&w)) - i32::from(NEGATIVE.contains(&w)))
            .sum();
        match score.signum() {
            1 => distribution.positive += 1,
            -1 => distribution.negative += 1,
            _ => distribution.neutral += 1,
        }
    }
    distribution
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_sentences_cluster_and_outliers_are_noise() {
        let points = vec![
            vec![1.0, 0.0],
            vec![0.99, 0.141],
            vec![0.0, 1.0],
            vec![0.141, 0.99],
            vec![0.707, -0.707],
        ];
        let labels = dbscan(&points, 0.05, 2);
        assert_eq!(labels[0], labels[1]);
        assert_eq!(labels[2], labels[3]);
        assert_ne!(labels[0], labels[2]);
        assert_eq!(labels[4], None);
    }

    #[test]
    fn sentiment_counts_signs() {
        let s = normalise(&[
            "Great, fast app!".into(),
            "Slow and broken.".into(),
            "It is blue".into(),
        ]);
        assert_eq!(
            sentiment(&s),
            Distribution {
                positive: 1,
                neutral: 1,
                negative: 1
            }
        );
    }
}
