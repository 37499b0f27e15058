-- Up Migration

-- Texts are PII-redacted before they are written, and a placeholder can be longer than what it replaces (a 6-character
-- e-mail becomes the 7 characters of [EMAIL]), so a body within the API's limits could break the database's own
-- length checks (a 2,000-character comment of short e-mails did). The redactor guarantees that its output is at most
-- twice as long as its input (src/privacy/redact.ts, tested), so the database's safety net on every redacted text is
-- twice the API's limit: the API's limits apply to what the client sends, these to what is stored.
alter table votes drop constraint votes_query_check, add constraint votes_query_check check (char_length(query) <= 40000);
alter table votes drop constraint votes_response_check, add constraint votes_response_check check (char_length(response) <= 40000);
alter table votes drop constraint votes_comment_check, add constraint votes_comment_check check (char_length(comment) <= 4000);
alter table interview_sessions drop constraint interview_sessions_title_check, add constraint interview_sessions_title_check check (char_length(title) between 1 and 1000);
alter table interview_feedbacks drop constraint interview_feedbacks_technical_feedback_check, add constraint interview_feedbacks_technical_feedback_check check (char_length(technical_feedback) between 1 and 40000);
alter table interview_feedbacks drop constraint interview_feedbacks_communication_feedback_check, add constraint interview_feedbacks_communication_feedback_check check (char_length(communication_feedback) between 1 and 40000);
alter table interview_feedbacks drop constraint interview_feedbacks_problem_solving_feedback_check, add constraint interview_feedbacks_problem_solving_feedback_check check (char_length(problem_solving_feedback) between 1 and 40000);
alter table interview_feedbacks drop constraint interview_feedbacks_relevance_feedback_check, add constraint interview_feedbacks_relevance_feedback_check check (char_length(relevance_feedback) between 1 and 40000);
alter table interview_feedbacks drop constraint interview_feedbacks_overall_comments_check, add constraint interview_feedbacks_overall_comments_check check (char_length(overall_comments) between 1 and 40000);
alter table expert_feedback drop constraint expert_feedback_query_text_check, add constraint expert_feedback_query_text_check check (char_length(query_text) between 1 and 40000);
alter table expert_feedback drop constraint expert_feedback_original_answer_check, add constraint expert_feedback_original_answer_check check (char_length(original_answer) between 1 and 40000);
alter table expert_feedback drop constraint expert_feedback_improved_answer_check, add constraint expert_feedback_improved_answer_check check (char_length(improved_answer) between 1 and 40000);
alter table faq_entries drop constraint faq_entries_question_check, add constraint faq_entries_question_check check (char_length(question) between 1 and 40000);
alter table faq_entries drop constraint faq_entries_answer_check, add constraint faq_entries_answer_check check (char_length(answer) between 1 and 40000);
alter table expert_faq_candidates drop constraint expert_faq_candidates_question_check, add constraint expert_faq_candidates_question_check check (char_length(question) between 1 and 40000);
alter table expert_faq_candidates drop constraint expert_faq_candidates_answer_check, add constraint expert_faq_candidates_answer_check check (char_length(answer) between 1 and 40000);
alter table interview_feedbacks drop constraint interview_feedbacks_knowledge_gaps_check,
  add constraint interview_feedbacks_knowledge_gaps_check check (jsonb_typeof(knowledge_gaps) = 'array' and fw_is_text_list(knowledge_gaps, 100, 1000));
alter table interview_feedbacks drop constraint interview_feedbacks_learning_recommendations_check,
  add constraint interview_feedbacks_learning_recommendations_check check (jsonb_typeof(learning_recommendations) = 'array' and fw_is_text_list(learning_recommendations, 100, 1000));

-- Down Migration
-- Rows stored with placeholders beyond the old limits make this fail; shorten or delete them first.
alter table votes drop constraint votes_query_check, add constraint votes_query_check check (char_length(query) <= 20000);
alter table votes drop constraint votes_response_check, add constraint votes_response_check check (char_length(response) <= 20000);
alter table votes drop constraint votes_comment_check, add constraint votes_comment_check check (char_length(comment) <= 2000);
alter table interview_sessions drop constraint interview_sessions_title_check, add constraint interview_sessions_title_check check (char_length(title) between 1 and 500);
alter table interview_feedbacks drop constraint interview_feedbacks_technical_feedback_check, add constraint interview_feedbacks_technical_feedback_check check (char_length(technical_feedback) between 1 and 20000);
alter table interview_feedbacks drop constraint interview_feedbacks_communication_feedback_check, add constraint interview_feedbacks_communication_feedback_check check (char_length(communication_feedback) between 1 and 20000);
alter table interview_feedbacks drop constraint interview_feedbacks_problem_solving_feedback_check, add constraint interview_feedbacks_problem_solving_feedback_check check (char_length(problem_solving_feedback) between 1 and 20000);
alter table interview_feedbacks drop constraint interview_feedbacks_relevance_feedback_check, add constraint interview_feedbacks_relevance_feedback_check check (char_length(relevance_feedback) between 1 and 20000);
alter table interview_feedbacks drop constraint interview_feedbacks_overall_comments_check, add constraint interview_feedbacks_overall_comments_check check (char_length(overall_comments) between 1 and 20000);
alter table expert_feedback drop constraint expert_feedback_query_text_check, add constraint expert_feedback_query_text_check check (char_length(query_text) between 1 and 20000);
alter table expert_feedback drop constraint expert_feedback_original_answer_check, add constraint expert_feedback_original_answer_check check (char_length(original_answer) between 1 and 20000);
alter table expert_feedback drop constraint expert_feedback_improved_answer_check, add constraint expert_feedback_improved_answer_check check (char_length(improved_answer) between 1 and 20000);
alter table faq_entries drop constraint faq_entries_question_check, add constraint faq_entries_question_check check (char_length(question) between 1 and 20000);
alter table faq_entries drop constraint faq_entries_answer_check, add constraint faq_entries_answer_check check (char_length(answer) between 1 and 20000);
alter table expert_faq_candidates drop constraint expert_faq_candidates_question_check, add constraint expert_faq_candidates_question_check check (char_length(question) between 1 and 20000);
alter table expert_faq_candidates drop constraint expert_faq_candidates_answer_check, add constraint expert_faq_candidates_answer_check check (char_length(answer) between 1 and 20000);
alter table interview_feedbacks drop constraint interview_feedbacks_knowledge_gaps_check,
  add constraint interview_feedbacks_knowledge_gaps_check check (jsonb_typeof(knowledge_gaps) = 'array' and fw_is_text_list(knowledge_gaps, 100, 500));
alter table interview_feedbacks drop constraint interview_feedbacks_learning_recommendations_check,
  add constraint interview_feedbacks_learning_recommendations_check check (jsonb_typeof(learning_recommendations) = 'array' and fw_is_text_list(learning_recommendations, 100, 500));
